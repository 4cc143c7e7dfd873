//! The bodies of the fuzz targets, as plain functions: `fuzz_targets/*.rs` hand them libFuzzer's
//! input, and `tests/seeds.rs` runs the same functions on the checked-in seeds and on fixed-seed
//! random mutations, so stable Rust and CI exercise them without a fuzzer. Each function must return
//! normally for every input; a panic (or a hang) is the bug the fuzzer reports.

use std::path::PathBuf;
use std::sync::OnceLock;

use resetlab_device::{KvBody, rpc2::Rpc2Reply};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, for the seed runner.
pub const TARGETS: &[(&str, Target)] = &[
    ("kv_body", kv_body),
    ("rpc2_reply", rpc2_reply),
    ("digest_challenge", digest_challenge),
    ("rtsp_response", rtsp_response),
    ("onvif_soap", onvif_soap),
    ("ledger_journal", ledger_journal),
    ("bench_yaml", bench_yaml),
    ("profile_yaml", profile_yaml),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A CGI `key=value` body, and what the clients derive from one: lookups, `OK`/`Error`, the excerpt
/// and redaction that go into error messages.
pub fn kv_body(data: &[u8]) {
    let body = text(data);
    let kv = KvBody::parse(&body);
    for (k, v) in kv.pairs() {
        assert!(!k.contains('\n') && !v.contains('\n'));
        let _ = kv.get(k);
    }
    for key in ["sn", "users[0].Name", "name", ""] {
        let _ = kv.get(key);
    }
    let _ = (
        kv.is_ok(),
        kv.error_reason(),
        kv.is_empty(),
        kv.lines().len(),
    );
    let e = resetlab_device::error::excerpt(&body);
    assert!(e.chars().count() <= 1024, "excerpt is bounded");
    let _ = resetlab_device::redact::text(&body);
    let _ = resetlab_device::redact::request(&body);
}

/// An RPC2 JSON reply: parsed leniently; when it parses, its accessors and redaction hold too.
pub fn rpc2_reply(data: &[u8]) {
    let body = text(data);
    if let Ok(r) = Rpc2Reply::parse(&body) {
        let _ = (r.succeeded(), r.lock_seconds());
        let _ = resetlab_device::redact::json(&r.params);
        let _ = resetlab_device::redact::json(&r.result);
    }
}

/// `WWW-Authenticate` header values (split on `\n`): pick the Digest challenge, parse it, answer it
/// twice. The first line of the input is also used as the request URI.
pub fn digest_challenge(data: &[u8]) {
    let all = text(data);
    let values: Vec<&str> = all.split('\n').collect();
    let uri = values.first().copied().unwrap_or("/");
    let _ = resetlab_device::fuzzing::digest_challenge(&values, uri);
    let _ =
        resetlab_device::fuzzing::digest_challenge(&values[values.len().min(1)..], "/cgi-bin/x");
}

/// Raw bytes from an RTSP server: one response is read (or refused) without panicking.
pub fn rtsp_response(data: &[u8]) {
    let _ = resetlab_device::fuzzing::rtsp_response(data);
}

/// SOAP bytes both ways: the emulator's ONVIF request reader (envelope, WS-Security token, digest,
/// replay and clock window) and the device client's reply reader (envelope, fault). Neither may
/// panic; an accepted request names a non-empty operation.
pub fn onvif_soap(data: &[u8]) {
    if let Ok(op) = resetlab_emulator::fuzzing::onvif_request(data) {
        assert!(!op.is_empty(), "an operation has a name");
    }
    if let Ok(Err(fault)) = resetlab_device::soap::read_reply(&text(data)) {
        let _ = fault.not_authorized();
    }
}

fn journal_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("resetlab-fuzz-journal-")
            .tempdir()
            .expect("temp dir")
            .keep();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("0700");
        dir.join("state")
    })
}

/// The ledger's journal file holding `data`: opening it loads, cuts a torn tail, or refuses with
/// an error; a journal that opened can be appended to and compacted.
pub fn ledger_journal(data: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = journal_dir();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir(dir).expect("journal dir");
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("0700");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(resetlab_ledger::JOURNAL_FILE))
        .and_then(|mut f| f.write_all(data))
        .expect("write journal");
    let Ok(j) = resetlab_ledger::Journal::open(dir) else {
        return;
    };
    let _ = (j.torn_records(), j.unfinished(), j.added_accounts(), j.is_clean());
    let key = resetlab_ledger::DeviceKey::new("SN-FUZZ", "admin");
    let _ = j.pending(&key);
    let _ = j.baseline(&key, &resetlab_wire::Secret::new("base-pw"));
    let (old, new) = (
        resetlab_wire::Secret::new("old-pw"),
        resetlab_wire::Secret::new("new-pw"),
    );
    if let Ok(id) = j.intend(&key, &old, &new) {
        let _ = j.outcome(id, resetlab_ledger::Outcome::Committed);
    }
    let added = resetlab_ledger::DeviceKey::new("SN-FUZZ", "qa1234");
    let _ = j.account_adding(&added, "admin", &resetlab_wire::Secret::new("base-pw"));
    let _ = j.compact();
    let _ = j.account_removed(&added);
    drop(j);
    // What was written after a successful open must load again.
    resetlab_ledger::Journal::open(dir).expect("a journal we wrote reopens");
}

/// A bench file's text: loads or is a `file:line: key` error.
pub fn bench_yaml(data: &[u8]) {
    let body = text(data);
    if let Err(e) = resetlab_rig::Bench::parse("fuzz.yaml", &body) {
        assert!(e.to_string().starts_with("fuzz.yaml"), "{e}");
    }
    for key in ["power.host", "device", "console.ready", "a.b.c"] {
        let _ = resetlab_profile::locate(&body, key);
    }
}

/// A firmware profile's text: loads or is a `file:line: key` error.
pub fn profile_yaml(data: &[u8]) {
    let body = text(data);
    if let Err(e) = resetlab_profile::FirmwareProfile::parse("fuzz.yaml", &body) {
        assert!(e.to_string().starts_with("fuzz.yaml"), "{e}");
    }
}
