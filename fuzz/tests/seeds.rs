//! The fuzz targets without a fuzzer (stable Rust, CI): every checked-in seed, then fixed-seed
//! mutations of the seeds (bit flips, cuts, splices, inserted protocol tokens) and random bytes,
//! through the same functions `cargo fuzz` runs. A panic here is a bug the fuzzer would report.
//!
//! `RESETLAB_FUZZ_ITERS` sets the mutations per target (default 3000; the ledger target, which
//! touches the file system, runs a tenth of that).

use std::path::{Path, PathBuf};

use resetlab_fuzz::TARGETS;

/// xorshift64*: a fixed seed, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens the parsers treat specially; inserting them reaches branches random bytes rarely do.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"=",
    b"\"",
    b",",
    b":",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\0",
    b"Digest ",
    b"digest",
    b"nonce=",
    b"qop=",
    b"realm=",
    b"stale=true",
    b"auth-int",
    b"RTSP/1.0 ",
    b"CSeq: ",
    b"Content-Length: ",
    b"99999999999999999999",
    b"-1",
    b"Error\r\n",
    b"OK",
    b"\"error\":",
    b"\"code\":",
    b"\"session\":",
    b"\"result\":",
    b"null",
    b"268632081",
    b"\t",
    b"  ",
    b"- ",
    b"&",
    b"*a",
    b"&a ",
    b"!!binary ",
    b"%YAML 1.2\n---\n",
    b"{\"seq\":",
    b"\"crc\":",
    b"<!DOCTYPE a [<!ENTITY e \"x\">]>",
    b"&e;",
    b"&#x41;",
    b"<![CDATA[",
    b"]]>",
    b"</s:Body>",
    b"<wsse:Nonce>",
    b"#PasswordDigest",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut d = if seeds.is_empty() || rng.below(8) == 0 {
        (0..rng.below(512)).map(|_| rng.next() as u8).collect()
    } else {
        seeds[rng.below(seeds.len())].clone()
    };
    for _ in 0..=rng.below(6) {
        match rng.below(7) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => d.truncate(rng.below(d.len())),
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(d.len() + 1);
                d.splice(i..i, t.iter().copied());
            }
            3 if !d.is_empty() => {
                let (a, b) = (rng.below(d.len()), rng.below(d.len()));
                let (a, b) = (a.min(b), a.max(b));
                d.drain(a..b);
            }
            4 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let at = rng.below(other.len() + 1);
                let i = rng.below(d.len() + 1);
                d.splice(i..i, other[at..].iter().copied());
            }
            5 if !d.is_empty() => {
                // Repeat a slice: long lines, deep nesting.
                let (a, n) = (rng.below(d.len()), 1 + rng.below(16));
                let chunk: Vec<u8> = d[a..(a + n).min(d.len())].to_vec();
                let times = 1 + rng.below(200);
                let i = rng.below(d.len() + 1);
                d.splice(
                    i..i,
                    chunk.iter().copied().cycle().take(chunk.len() * times),
                );
            }
            _ => {
                let i = rng.below(d.len() + 1);
                d.insert(i, rng.next() as u8);
            }
        }
    }
    d
}

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(seeds_dir(target)) {
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            out.push(std::fs::read(&p).unwrap());
        }
    }
    out
}

/// A real journal written through the ledger's API, cut off mid-record too.
fn ledger_seed() -> Vec<u8> {
    use resetlab_ledger::{DeviceKey, Journal, Outcome};
    use resetlab_wire::Secret;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let j = Journal::open(&state).unwrap();
    let a = DeviceKey::new("SN-4B03A1", "admin");
    let b = DeviceKey::new("SN-77", "user1");
    j.baseline(&a, &Secret::new("000000")).unwrap();
    let id = j
        .intend(&a, &Secret::new("000000"), &Secret::new("abc123"))
        .unwrap();
    j.outcome(id, Outcome::Unknown).unwrap();
    j.baseline(&b, &Secret::new("user11")).unwrap();
    j.intend(&b, &Secret::new("user11"), &Secret::new("zz9z9z"))
        .unwrap();
    let path = j.path().to_owned();
    drop(j);
    std::fs::read(path).unwrap()
}

fn run(name: &str, f: fn(&[u8]), iters: usize) {
    let mut corpus = seeds(name);
    if name == "ledger_journal" {
        let s = ledger_seed();
        if std::env::var_os("RESETLAB_FUZZ_WRITE_SEEDS").is_some() {
            std::fs::create_dir_all(seeds_dir(name)).unwrap();
            std::fs::write(seeds_dir(name).join("two_devices.jsonl"), &s).unwrap();
        }
        corpus.push(s);
    }
    assert!(
        !corpus.is_empty(),
        "no seeds for {name} in {}",
        seeds_dir(name).display()
    );
    for s in &corpus {
        f(s);
    }
    f(b"");
    let mut rng = Rng(0x5EED_0000_0000_0001 ^ (name.len() as u64 * 0x9E37_79B9));
    for i in 0..iters {
        let input = mutate(&mut rng, &corpus);
        let r = std::panic::catch_unwind(|| f(&input));
        if r.is_err() {
            let path = std::env::temp_dir().join(format!("resetlab-fuzz-{name}-crash-{i}"));
            std::fs::write(&path, &input).unwrap();
            panic!(
                "{name}: mutation {i} panicked; input saved to {}",
                path.display()
            );
        }
    }
}

fn iters() -> usize {
    std::env::var("RESETLAB_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

macro_rules! target_test {
    ($name:ident, $div:expr) => {
        #[test]
        fn $name() {
            let f = TARGETS
                .iter()
                .find(|(n, _)| *n == stringify!($name))
                .expect("listed in TARGETS")
                .1;
            run(stringify!($name), f, iters() / $div);
        }
    };
}

target_test!(kv_body, 1);
target_test!(rpc2_reply, 1);
target_test!(digest_challenge, 1);
target_test!(rtsp_response, 1);
target_test!(onvif_soap, 1);
target_test!(ledger_journal, 10);
target_test!(bench_yaml, 1);
target_test!(profile_yaml, 1);

#[test]
fn every_target_has_a_test_and_a_fuzz_target_file() {
    for (name, _) in TARGETS {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz_targets")
            .join(format!("{name}.rs"));
        assert!(file.exists(), "{}", file.display());
    }
}
