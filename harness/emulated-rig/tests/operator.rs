//! Field use: power and link steps are instructions to a person; `rig check` still verifies that the
//! recorder went quiet and came back. The "person" here is a task that follows the printed
//! instructions on the emulated recorder (or, in the fault test, only claims to).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use resetlab_emulator::{Recorder, RecorderConfig};
use resetlab_rig::{Bench, Blame, CheckOptions, Operator, rig_check};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

struct Prompts(mpsc::UnboundedSender<String>);

impl Write for Prompts {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn field_bench(rec: &Recorder) -> Bench {
    let text = format!(
        "rig: field-test\ndevice:\n  model: DNR216\n  address: 127.0.0.1\n  ports: {{ http: {}, rtsp: {} }}\n  credentials: {{ admin_user: admin, admin_password_env: RESETLAB_ADMIN_PASSWORD }}\npower:   {{ driver: operator, off_ms: 50 }}\nnetwork: {{ driver: operator, off_ms: 0 }}\nconsole: {{ driver: none }}\n",
        rec.http_addr().port(),
        rec.rtsp_addr().port()
    );
    Bench::parse("field-test.yaml", &text).unwrap()
}

/// A person who does what the prompts say when `honest`, and only says "done" otherwise.
fn person(rec: Recorder, honest: bool) -> Arc<Operator> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let (mut answers, reader) = tokio::io::duplex(4096);
    tokio::spawn(async move {
        while let Some(prompt) = rx.recv().await {
            if honest {
                if prompt.contains("power OFF") {
                    rec.set_power(false).await;
                } else if prompt.contains("power ON") {
                    rec.set_power(true).await;
                } else if prompt.contains("Unplug the recorder's network") {
                    rec.set_link(false).await;
                } else if prompt.contains("Plug the recorder's network") {
                    rec.set_link(true).await;
                }
            }
            let answer = if prompt.contains("[y/n]") { "y\n" } else { "done\n" };
            if answers.write_all(answer.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    Arc::new(Operator::from_io(
        "scripted person",
        BufReader::new(reader),
        Box::new(Prompts(tx)),
        Duration::from_secs(5),
    ))
}

#[tokio::test]
async fn field_rig_check_with_an_operator_verifies_each_step() {
    let rec = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await.unwrap();
    let bench = field_bench(&rec);
    let opts = CheckOptions {
        boot_deadline: Some(Duration::from_secs(3)),
        operator: Some(person(rec.clone(), true)),
        ..Default::default()
    };
    let report = rig_check(&bench, &opts).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    let on = report.checks.iter().find(|c| c.name.starts_with("power on")).unwrap();
    assert!(on.took >= Duration::from_millis(45), "minimum off time kept: {on:?}");
    rec.shutdown().await;
}

#[tokio::test]
async fn operator_who_only_says_done_is_caught_and_blamed() {
    let rec = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await.unwrap();
    let bench = field_bench(&rec);
    let opts = CheckOptions {
        down_deadline: Duration::from_millis(500),
        operator: Some(person(rec.clone(), false)),
        ..Default::default()
    };
    let report = rig_check(&bench, &opts).await;
    println!("{report}");
    let (check, blame) = report.fault().unwrap();
    assert_eq!(check.name, "device stops answering");
    assert_eq!(blame, Blame::Operator);
    assert_eq!(report.exit_code(), 2);
    rec.shutdown().await;
}
