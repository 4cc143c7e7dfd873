//! Issue 8 (bad input) for the rig: a relay board on Modbus TCP that answers garbage or an exception,
//! a console that prints binary garbage and invalid UTF-8, and bench files that are empty, of the
//! wrong shape, huge or indented with tabs. Each is a clear error naming the board, the console or
//! `file:line: key`, within a deadline, never a panic.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use resetlab_rig::{Bench, Blame, CoilOptions, Console, CrashPatterns, RigError, Switch, modbus_tcp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SHORT: Duration = Duration::from_millis(500);

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f).await.expect("test exceeded its bound")
}

// ---------------------------------------------------------------- Modbus TCP relay board

/// What a fake Modbus peer writes for one request frame.
type Answer = fn(&[u8]) -> Vec<u8>;

/// A Modbus TCP peer on 127.0.0.1: reads each request frame (MBAP header + PDU) and writes
/// `answer(request)`; an empty answer closes the connection.
async fn modbus_peer(answer: Answer) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                loop {
                    let mut head = [0u8; 7];
                    if sock.read_exact(&mut head).await.is_err() {
                        return;
                    }
                    let len = u16::from_be_bytes([head[4], head[5]]) as usize;
                    let mut pdu = vec![0u8; len.saturating_sub(1)];
                    if sock.read_exact(&mut pdu).await.is_err() {
                        return;
                    }
                    let mut req = head.to_vec();
                    req.extend(pdu);
                    let reply = answer(&req);
                    if reply.is_empty() {
                        return;
                    }
                    if sock.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn coil(port: u16) -> (resetlab_rig::RelayCoil, String) {
    let board = modbus_tcp::board("127.0.0.1", port, SHORT);
    let name = board.name().to_owned();
    let coil = board.coil(CoilOptions {
        unit: 1,
        coil: 0,
        invert: false,
        write_multiple: false,
        off: Duration::ZERO,
        what: "power".into(),
    });
    (coil, name)
}

/// The error names the board (or waits for it by name), is blamed on the relay, and is not a panic.
fn assert_names_board(err: &RigError, board: &str) {
    let text = err.to_string();
    assert!(text.contains(board), "error does not name {board}: {text}");
    assert_eq!(err.blame(), Blame::Relay, "{text}");
    assert!(matches!(err, RigError::Modbus { .. } | RigError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn modbus_exception_reply_names_the_board_and_the_exception() {
    bounded(async {
        let port = modbus_peer(|req| {
            // Echo transaction id and unit; function code | 0x80, exception 2 (illegal address).
            vec![req[0], req[1], 0, 0, 0, 3, req[6], req[7] | 0x80, 0x02]
        })
        .await;
        let (c, board) = coil(port);
        let err = c.get().await.unwrap_err();
        assert_names_board(&err, &board);
        assert!(matches!(err, RigError::Modbus { .. }), "{err:?}");
        assert!(err.to_string().contains("exception"), "{err}");
        let err = c.set(true).await.unwrap_err();
        assert_names_board(&err, &board);
    })
    .await
}

#[tokio::test]
async fn modbus_garbage_frames_are_errors_naming_the_board() {
    let answers: &[(&str, Answer)] = &[
        ("bad protocol id", |req| vec![req[0], req[1], 0xde, 0xad, 0, 3, req[6], 1, 0]),
        ("text instead of a frame", |_| b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()),
        ("wrong transaction id", |req| vec![req[0] ^ 0xff, req[1] ^ 0xff, 0, 0, 0, 4, req[6], 1, 1, 1]),
        ("unknown function code", |req| vec![req[0], req[1], 0, 0, 0, 4, req[6], 0x42, 1, 1]),
        ("byte count beyond the frame", |req| vec![req[0], req[1], 0, 0, 0, 4, req[6], req[7], 200, 1]),
        ("length field says 0", |req| vec![req[0], req[1], 0, 0, 0, 0]),
        ("half a header then close", |req| vec![req[0], req[1], 0]),
        ("all ones", |_| vec![0xff; 300]),
    ];
    bounded(async {
        for (case, answer) in answers {
            let port = modbus_peer(*answer).await;
            let (c, board) = coil(port);
            let started = std::time::Instant::now();
            let err = c.get().await.expect_err(case);
            assert!(started.elapsed() < SHORT * 4, "{case}: {:?}", started.elapsed());
            assert_names_board(&err, &board);
            // The failed connection is dropped; the next request does not hang or panic either.
            let err = c.set(false).await.expect_err(case);
            assert_names_board(&err, &board);
        }
    })
    .await
}

#[tokio::test]
async fn modbus_peer_that_closes_at_once_is_an_error_naming_the_board() {
    bounded(async {
        let port = modbus_peer(|_| Vec::new()).await;
        let (c, board) = coil(port);
        let err = c.get().await.unwrap_err();
        assert_names_board(&err, &board);
    })
    .await
}

// ---------------------------------------------------------------- serial console

fn console_from(bytes: Vec<u8>) -> Console {
    let (mut w, r) = tokio::io::duplex(1 << 16);
    let console = Console::from_reader("/dev/ttyFAKE0", r, CrashPatterns::default(), None);
    tokio::spawn(async move {
        let _ = w.write_all(&bytes).await;
        // Keep the writer open: a console that goes quiet is not one that closed.
        std::future::pending::<()>().await;
    });
    console
}

/// Bytes a console prints when the baud rate is wrong or the line is noisy.
fn line_noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .filter(|&b| b != b'\n')
        .collect()
}

#[tokio::test]
async fn console_garbage_and_invalid_utf8_are_captured_and_the_marker_still_found() {
    bounded(async {
        let mut bytes = line_noise(8192);
        bytes.extend_from_slice(b"\r\n\xff\xfe\xc3\x28 bad utf-8 \xe2\x82\r\n");
        bytes.extend(line_noise(1000));
        bytes.extend_from_slice(b"\n[   38.2] System init done\r\n");
        let console = console_from(bytes);
        // Taken before the first await: the capture has not read anything yet.
        let from = console.cursor();
        let seen = console.wait_for(from, "System init done", Duration::from_secs(5)).await.unwrap();
        assert!(seen.line.contains("System init done"), "{}", seen.line);
        let lines = console.lines();
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(lines.iter().any(|l| l.text.contains("bad utf-8")));
        // The capture survives as text for the report.
        assert!(console.transcript().contains("System init done"));
    })
    .await
}

#[tokio::test]
async fn console_printing_only_garbage_times_out_naming_the_pattern_and_the_console() {
    bounded(async {
        let mut bytes = line_noise(4096);
        bytes.push(b'\n');
        bytes.extend(line_noise(512));
        let console = console_from(bytes);
        let err = console.wait_for(console.mark("power on"), "System init done", SHORT).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"System init done\""), "{text}");
        assert!(text.contains("/dev/ttyFAKE0"), "{text}");
        // It printed something: the console works, the device never got ready.
        assert_eq!(err.blame(), Blame::Device, "{text}");
    })
    .await
}

#[tokio::test]
async fn console_endless_line_without_newline_times_out_as_a_partial_line() {
    bounded(async {
        let console = console_from(line_noise(200_000));
        let err = console.wait_for(console.cursor(), "login:", SHORT).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("partial line"), "{text}");
        assert!(matches!(err, RigError::Timeout { .. }), "{err:?}");
    })
    .await
}

// ---------------------------------------------------------------- bench files

fn bench_err(file: &str, text: &str) -> String {
    let err = Bench::parse(file, text).expect_err(file).to_string();
    assert!(err.starts_with(file), "error does not name {file}: {err}");
    err
}

#[test]
fn empty_bench_file_is_an_error_naming_the_file() {
    for text in ["", "\n\n", "# only a comment\n", "---\n"] {
        let e = bench_err("rigs/empty.yaml", text);
        assert!(e.contains("rigs/empty.yaml:"), "{e}");
    }
}

#[test]
fn bench_yaml_of_the_wrong_shape_names_line_and_key() {
    let e = bench_err("rigs/list.yaml", "- rig: a\n- rig: b\n");
    assert!(e.contains("expected struct"), "{e}");
    let e = bench_err("rigs/scalar.yaml", "just a sentence\n");
    assert!(e.contains("rigs/scalar.yaml:1"), "{e}");
    let e = bench_err("rigs/dev.yaml", "rig: x\ndevice: [1, 2]\n");
    assert!(e.starts_with("rigs/dev.yaml:2: key `device`"), "{e}");
    let e = bench_err(
        "rigs/ports.yaml",
        "rig: x\ndevice:\n  model: m\n  address: 127.0.0.1\n  ports: { http: 99999, rtsp: 554 }\n",
    );
    assert!(e.starts_with("rigs/ports.yaml:5: key `device.ports.http`"), "{e}");
}

#[test]
fn bench_yaml_syntax_errors_name_the_line() {
    let e = bench_err("rigs/syntax.yaml", "rig: x\ndevice: {model: m\n");
    assert!(e.starts_with("rigs/syntax.yaml:"), "{e}");
    let e = bench_err("rigs/binary.yaml", "rig: \u{0}\u{1}\u{7f}\nfoo: [\n");
    assert!(e.starts_with("rigs/binary.yaml:"), "{e}");
}

#[test]
fn bench_indented_with_tabs_is_an_error_naming_the_line() {
    let text = "rig: x\ndevice:\n\tmodel: m\n\taddress: 127.0.0.1\n";
    let e = bench_err("rigs/tabs.yaml", text);
    assert!(e.starts_with("rigs/tabs.yaml:3"), "{e}");
}

#[test]
fn huge_bench_file_is_an_error_not_a_hang() {
    // 4 MiB of keys nobody knows: refused at the first, quickly.
    let mut text = String::from("rig: x\n");
    while text.len() < 4 << 20 {
        text.push_str("padding_key_that_is_not_in_the_contract: 1234567890\n");
    }
    let started = std::time::Instant::now();
    let e = bench_err("rigs/huge.yaml", &text);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(e.contains("padding_key_that_is_not_in_the_contract"), "{e}");
    // A huge single value (a 1 MiB rig name) loads or is refused, but never panics.
    let big = format!("rig: {}\n", "x".repeat(1 << 20));
    let _ = Bench::parse("rigs/big-value.yaml", &big);
}

#[test]
fn bench_file_that_is_not_utf8_or_missing_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"rig: caf\xe9\n").unwrap();
    let e = Bench::load(&path).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
    let missing = dir.path().join("missing.yaml");
    let e = Bench::load(&missing).unwrap_err().to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert!(!Path::new(&missing).exists());
}
