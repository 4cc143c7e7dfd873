//! The RTSP check that plays, against the emulated recorder over loopback: the new password plays
//! both streams to a decoded key frame and the old one is refused, a refusal costs one wrong
//! password on the lockout counter however far the check goes without credentials, and the two
//! RTSP defects are seen for what they are. ffmpeg (a third-party client and decoder) must agree
//! with every verdict, and decode the very key frames the check decoded to the same picture.

use std::time::Duration;

use resetlab_device::{Cgi, PlayOutcome, PlayStep, Played, Rtsp, Secret, Stream, Target};
use resetlab_emulator::{Defect, Recorder};

mod emulated;
use emulated::{admin, target};

async fn recorder(defects: &[Defect]) -> Recorder {
    emulated::recorder("PL", |cfg| cfg.defects = defects.to_vec()).await
}

const STEP: Duration = Duration::from_secs(20);
const OLD: &str = "000000";
const NEW: &str = "vid123";

/// A recorder whose administrator password was changed from [`OLD`] to [`NEW`].
async fn changed(defects: &[Defect]) -> (Recorder, Target) {
    let rec = recorder(defects).await;
    let t = target(&rec);
    Cgi::new(&t)
        .modify_password(&admin(OLD), "admin", &Secret::new(NEW), &Secret::new(OLD))
        .await
        .expect("the change is accepted");
    (rec, t)
}

async fn play(t: &Target, pw: &str, stream: Stream) -> PlayOutcome {
    tokio::time::timeout(STEP, Rtsp::play(t, &admin(pw), stream))
        .await
        .expect("the play check ends within its deadlines")
        .unwrap_or_else(|e| panic!("{stream} with {pw:?}: {e}"))
}

fn played(o: PlayOutcome) -> Box<Played> {
    match o {
        PlayOutcome::Played(p) => p,
        other => panic!("expected video, got {other}"),
    }
}

const MAIN: Stream = Stream::main(1);
const SUB: Stream = Stream::sub(1);

#[tokio::test]
async fn new_password_plays_both_streams_and_the_old_one_is_refused_once() {
    let (rec, t) = changed(&[]).await;
    for (stream, size) in [(MAIN, (320, 240)), (SUB, (176, 144))] {
        let p = played(play(&t, NEW, stream).await);
        assert_eq!((p.picture.width, p.picture.height), size, "{stream}");
        assert_eq!(p.key_frame.nal_types[..3], [7, 8, 5], "{stream}: SPS, PPS, IDR");
        assert!(p.packets > 1, "{stream}: the IDR needs FU-A fragments");
        // A test card is bright bars, not the flat grey of a concealed picture.
        assert!(p.picture.mean_luma() > 60.0, "{stream}: {}", p.picture.mean_luma());
        let before = rec.stats().login_failures;
        match play(&t, OLD, stream).await {
            PlayOutcome::Refused { at: PlayStep::Describe, unprotected: None, probe } => {
                assert!(probe.contains("SETUP without credentials: 401"), "{probe}")
            }
            other => panic!("{stream}: the old password must be refused at DESCRIBE, got {other}"),
        }
        assert_eq!(
            rec.stats().login_failures - before,
            1,
            "{stream}: one wrong password, however far the check went without credentials"
        );
    }
    // Once the challenge is known, a check costs DESCRIBE, SETUP, PLAY and TEARDOWN, no 401.
    let before = t.requests();
    played(play(&t, NEW, MAIN).await);
    let d = t.requests() - before;
    assert_eq!((d.rtsp, d.challenges), (4, 0), "{d}");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_stream_the_profile_does_not_list_is_an_error_not_a_refusal() {
    let rec = recorder(&[]).await;
    let t = target(&rec);
    let e = Rtsp::play(&t, &admin(OLD), Stream::main(2)).await.unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
    rec.shutdown().await;
}

#[tokio::test]
async fn play_without_credentials_after_a_refused_describe_is_seen() {
    let (rec, t) = changed(&[Defect::RtspPlayUnauthenticated]).await;
    played(play(&t, NEW, MAIN).await);
    let before = rec.stats().login_failures;
    match play(&t, OLD, MAIN).await {
        PlayOutcome::Refused { at: PlayStep::Describe, unprotected: Some(p), .. } => {
            assert_eq!((p.picture.width, p.picture.height), (320, 240))
        }
        other => panic!("expected a refusal at DESCRIBE and video anyway, got {other}"),
    }
    assert_eq!(rec.stats().login_failures - before, 1);
    rec.shutdown().await;
}

#[tokio::test]
async fn a_sub_stream_that_keeps_the_old_password_is_seen() {
    let (rec, t) = changed(&[Defect::SubstreamStaleCredentials]).await;
    assert!(matches!(play(&t, OLD, MAIN).await, PlayOutcome::Refused { unprotected: None, .. }));
    let p = played(play(&t, OLD, SUB).await);
    assert_eq!((p.picture.width, p.picture.height), (176, 144));
    rec.shutdown().await;
}

// ---- ffmpeg agrees ---------------------------------------------------------------------------

/// Whether `tool` runs; under CI a missing tool fails the test, elsewhere it is skipped with a note.
fn have(tool: &str) -> bool {
    let ok = std::process::Command::new(tool).arg("-version").output().is_ok();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required under CI but is not installed (ci/install-test-tools.sh)");
        }
        eprintln!("note: {tool} is not installed; skipping this test");
    }
    ok
}

/// ffmpeg decodes the first frame of `input` to raw RGB on stdout; `Err` is its stderr.
async fn ffmpeg_first_frame(pre: &[&str], input: &str) -> Result<Vec<u8>, String> {
    let mut args = vec!["-nostdin", "-v", "error"];
    args.extend_from_slice(pre);
    args.extend_from_slice(&["-i", input, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    let out = tokio::time::timeout(
        STEP,
        tokio::process::Command::new("ffmpeg")
            .args(&args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffmpeg finished in time")
    .expect("ffmpeg runs");
    if out.status.success() && !out.stdout.is_empty() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// ffmpeg plays `stream` over RTSP/TCP with `pw`: the first frame as RGB, or why not.
async fn ffmpeg_plays(rec: &Recorder, pw: &str, stream: Stream) -> Result<Vec<u8>, String> {
    let url = format!(
        "rtsp://admin:{pw}@{}/cam/realmonitor?channel={}&subtype={}",
        rec.rtsp_addr(),
        stream.channel,
        stream.subtype
    );
    ffmpeg_first_frame(&["-rtsp_transport", "tcp"], &url).await
}

/// ffmpeg decodes the key frame the check decoded to the same picture (within rounding of the
/// colour conversion): two decoders agree it is this video.
async fn ffmpeg_decodes_the_same_picture(p: &Played) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key.h264");
    std::fs::write(&file, &p.key_frame.annex_b).unwrap();
    let theirs = ffmpeg_first_frame(&["-f", "h264"], file.to_str().unwrap())
        .await
        .unwrap_or_else(|e| panic!("ffmpeg decodes the key frame the check assembled: {e}"));
    assert_eq!(theirs.len(), p.picture.rgb.len(), "{}: same size", p.stream);
    let diff: u64 = theirs.iter().zip(&p.picture.rgb).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
    let mean = diff as f64 / theirs.len() as f64;
    assert!(mean < 4.0, "{}: mean difference {mean:.2} per channel between OpenH264 and ffmpeg", p.stream);
}

#[tokio::test]
async fn ffmpeg_plays_the_new_password_and_not_the_old_one_on_both_streams() {
    if !have("ffmpeg") {
        return;
    }
    let (rec, t) = changed(&[]).await;
    for stream in [MAIN, SUB] {
        let ours = played(play(&t, NEW, stream).await);
        let theirs = ffmpeg_plays(&rec, NEW, stream)
            .await
            .unwrap_or_else(|e| panic!("{stream}: ffmpeg with the new password: {e}"));
        assert_eq!(theirs.len(), ours.picture.rgb.len(), "{stream}: ffmpeg sees the size the check saw");
        ffmpeg_decodes_the_same_picture(&ours).await;
        let refused = ffmpeg_plays(&rec, OLD, stream).await.expect_err("ffmpeg with the old password");
        assert!(refused.contains("401"), "{stream}: {refused}");
        assert!(matches!(play(&t, OLD, stream).await, PlayOutcome::Refused { unprotected: None, .. }));
    }
    rec.shutdown().await;
}

#[tokio::test]
async fn ffmpeg_agrees_about_the_stale_sub_stream() {
    if !have("ffmpeg") {
        return;
    }
    let (rec, t) = changed(&[Defect::SubstreamStaleCredentials]).await;
    let sub = played(play(&t, OLD, SUB).await);
    let theirs = ffmpeg_plays(&rec, OLD, SUB).await.expect("ffmpeg too plays the sub-stream with the old password");
    assert_eq!(theirs.len(), sub.picture.rgb.len());
    ffmpeg_decodes_the_same_picture(&sub).await;
    assert!(matches!(play(&t, OLD, MAIN).await, PlayOutcome::Refused { unprotected: None, .. }));
    let main = ffmpeg_plays(&rec, OLD, MAIN).await.expect_err("ffmpeg is refused the main stream too");
    assert!(main.contains("401"), "{main}");
    rec.shutdown().await;
}

/// ffmpeg cannot skip a refused DESCRIBE (it stops at the 401, as the check's first step does); it
/// agrees on that, and decodes the key frame that SETUP/PLAY without credentials streamed.
#[tokio::test]
async fn ffmpeg_agrees_about_play_without_credentials() {
    if !have("ffmpeg") {
        return;
    }
    let (rec, t) = changed(&[Defect::RtspPlayUnauthenticated]).await;
    let PlayOutcome::Refused { at: PlayStep::Describe, unprotected: Some(p), .. } = play(&t, OLD, MAIN).await else {
        panic!("the check sees video without credentials");
    };
    let refused = ffmpeg_plays(&rec, OLD, MAIN).await.expect_err("ffmpeg stops at DESCRIBE");
    assert!(refused.contains("401"), "{refused}");
    ffmpeg_decodes_the_same_picture(&p).await;
    ffmpeg_plays(&rec, NEW, MAIN).await.expect("ffmpeg plays with the new password");
    rec.shutdown().await;
}
