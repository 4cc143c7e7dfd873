//! A console on the network: a serial port served over TCP by ser2net or a console server — what
//! labgrid calls a `NetworkSerialPort`. Its `protocol` is `raw` (the bytes of the line) or `rfc2217`
//! (telnet with the COM-PORT option; labgrid's default, and what its exporter's ser2net speaks).
//!
//! Over telnet the console only reads: it takes the line's bytes out of the telnet stream (IAC
//! escapes, option negotiation, subnegotiation), agrees to binary mode and suppress-go-ahead so the
//! line's bytes arrive unchanged, and refuses every other option (RFC 2217's baud-rate control
//! included: the serial server keeps the speed its port was configured with).
//!
//! The telnet layer is written here, in [`TelnetFilter`], rather than taken from a crate: the
//! telnet crates on crates.io (libtelnet-rs 2.0.0 and its fork libmudtelnet 2.0.2) drop every data
//! byte that follows an escaped 0xFF in the same read, and a console sees 0xFF as line noise at
//! every power cut. RFC 854's receive side is a five-state machine.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;

use crate::console::{Console, CrashPatterns};
use crate::error::RigError;

/// How long connecting to a serial server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a network serial port carries the line (labgrid's `NetworkSerialPort.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialProtocol {
    /// The line's bytes, as they are.
    Raw,
    /// Telnet with RFC 2217 (ser2net's `telnet(rfc2217)` accepter).
    Rfc2217,
}

impl SerialProtocol {
    /// From labgrid's spelling (`raw`, `rfc2217`).
    pub fn from_labgrid(name: &str) -> Option<SerialProtocol> {
        match name {
            "raw" => Some(SerialProtocol::Raw),
            "rfc2217" => Some(SerialProtocol::Rfc2217),
            _ => None,
        }
    }
}

impl std::fmt::Display for SerialProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SerialProtocol::Raw => "raw",
            SerialProtocol::Rfc2217 => "rfc2217",
        })
    }
}

/// Telnet bytes (RFC 854) and the options this console agrees to (RFC 856 binary, RFC 858
/// suppress-go-ahead).
const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const AGREED: [u8; 2] = [0, 3];

/// Where the receive side of telnet is between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TelnetState {
    Data,
    /// After IAC.
    Command,
    /// After IAC WILL/WONT/DO/DONT: the option byte comes next.
    Option(u8),
    /// Inside IAC SB … IAC SE.
    Sub,
    /// After IAC inside a subnegotiation.
    SubCommand,
}

/// The receive side of telnet: line bytes out, negotiation answers queued.
#[derive(Debug)]
struct TelnetFilter {
    state: TelnetState,
    /// Options already answered (each once: answering an answer would loop forever).
    answered: [bool; 256],
}

impl TelnetFilter {
    fn new() -> Self {
        TelnetFilter { state: TelnetState::Data, answered: [false; 256] }
    }

    /// Feed received bytes: the line's bytes go to `line`, answers to `replies`.
    fn feed(&mut self, bytes: &[u8], line: &mut Vec<u8>, replies: &mut Vec<u8>) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (TelnetState::Data, IAC) => TelnetState::Command,
                (TelnetState::Data, _) => {
                    line.push(b);
                    TelnetState::Data
                }
                (TelnetState::Command, IAC) => {
                    line.push(IAC);
                    TelnetState::Data
                }
                (TelnetState::Command, WILL | WONT | DO | DONT) => TelnetState::Option(b),
                (TelnetState::Command, SB) => TelnetState::Sub,
                // NOP, GA, BRK, AYT …: nothing for a listener to do.
                (TelnetState::Command, _) => TelnetState::Data,
                (TelnetState::Option(verb), option) => {
                    if matches!(verb, WILL | DO) && !self.answered[option as usize] {
                        self.answered[option as usize] = true;
                        let agree = AGREED.contains(&option);
                        let answer = match (verb, agree) {
                            (WILL, true) => DO,
                            (WILL, false) => DONT,
                            (_, true) => WILL,
                            (_, false) => WONT,
                        };
                        replies.extend_from_slice(&[IAC, answer, option]);
                    }
                    TelnetState::Data
                }
                (TelnetState::Sub, IAC) => TelnetState::SubCommand,
                (TelnetState::Sub, _) => TelnetState::Sub,
                (TelnetState::SubCommand, SE) => TelnetState::Data,
                (TelnetState::SubCommand, _) => TelnetState::Sub,
            };
        }
    }
}

/// The line's bytes out of a telnet stream; negotiation answers are written back on the socket.
struct TelnetLine {
    stream: TcpStream,
    filter: TelnetFilter,
    /// Line bytes parsed but not yet handed out.
    pending: Vec<u8>,
    /// Negotiation answers not yet written.
    replies: Vec<u8>,
}

impl TelnetLine {
    fn new(stream: TcpStream) -> Self {
        TelnetLine { stream, filter: TelnetFilter::new(), pending: Vec::new(), replies: Vec::new() }
    }

    /// Write what negotiation answers the socket takes now; the rest waits for the next read. A
    /// console only listens, so an answer the server never gets costs at most an option left off.
    fn answer(&mut self) {
        while !self.replies.is_empty() {
            match self.stream.try_write(&self.replies) {
                Ok(n) => {
                    self.replies.drain(..n);
                }
                Err(_) => break,
            }
        }
    }
}

impl AsyncRead for TelnetLine {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.drain(..n);
                return Poll::Ready(Ok(()));
            }
            let mut raw = [0u8; 4096];
            let mut rb = ReadBuf::new(&mut raw);
            match Pin::new(&mut this.stream).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    this.filter.feed(rb.filled(), &mut this.pending, &mut this.replies);
                    this.answer();
                }
                other => return other,
            }
        }
    }
}

impl Console {
    /// A console on a network serial port at `host:port`, connected with a deadline (from within a
    /// tokio runtime: the capture runs on it); a refused or late connection is a console fault
    /// naming the address. Connecting blocks for at most [`CONNECT_TIMEOUT`] per address, as
    /// opening a serial device does.
    pub fn open_network(
        host: &str,
        port: u16,
        protocol: SerialProtocol,
        crash: CrashPatterns,
        evidence: Option<Box<dyn Write + Send>>,
    ) -> Result<Console, RigError> {
        use std::net::ToSocketAddrs;
        let name = format!("{protocol}://{host}:{port}");
        let fail = |message: String| RigError::ConsoleIo { port: name.clone(), message };
        let addrs: Vec<_> =
            (host, port).to_socket_addrs().map_err(|e| fail(format!("cannot resolve {host}: {e}")))?.collect();
        let mut last = format!("{host} resolves to no address");
        let mut connected = None;
        for a in addrs {
            match std::net::TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(e) => last = format!("cannot connect to {a} within {} s: {e}", CONNECT_TIMEOUT.as_secs()),
            }
        }
        let stream = connected.ok_or_else(|| fail(last))?;
        stream.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
        let stream = TcpStream::from_std(stream).map_err(|e| fail(e.to_string()))?;
        Ok(match protocol {
            SerialProtocol::Raw => Console::from_reader(&name, stream, crash, evidence),
            SerialProtocol::Rfc2217 => Console::from_reader(&name, TelnetLine::new(stream), crash, evidence),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A telnet server's negotiation, an escaped 0xFF and the line's text come out as the text alone,
    /// and the console answers the server's offers (binary agreed, the COM-PORT option refused).
    #[tokio::test]
    async fn telnet_negotiation_and_escapes_are_taken_out_of_the_line() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            // IAC WILL BINARY, IAC DO COM-PORT-OPTION (44), then "boot\xff ok\r\n" with 0xFF doubled.
            s.write_all(b"\xff\xfb\x00\xff\xfd\x2cboot\xff\xff ok\r\nSystem init done\r\n").await.unwrap();
            let mut answers = vec![0u8; 6];
            s.read_exact(&mut answers).await.unwrap();
            answers
        });
        let console =
            Console::open_network("127.0.0.1", addr.port(), SerialProtocol::Rfc2217, CrashPatterns::default(), None)
                .unwrap();
        console.wait_for(console.beginning(), "System init done", Duration::from_secs(5)).await.unwrap();
        let lines: Vec<String> = console.lines().into_iter().map(|l| l.text).collect();
        assert_eq!(lines, vec!["boot\u{fffd} ok".to_owned(), "System init done".to_owned()]);
        let answers = tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
        // IAC DO BINARY (agreed), IAC WONT COM-PORT-OPTION (refused).
        assert_eq!(answers, b"\xff\xfd\x00\xff\xfc\x2c");
    }

    /// Byte by byte, so that every state boundary falls between two reads.
    #[test]
    fn the_filter_keeps_line_bytes_across_reads_and_skips_subnegotiation() {
        let stream = b"a\xff\xff\xff\xfa\x2c\x01\xff\xff\x00\xff\xf0b\xff\xf1c\xff\xfb\x03\xff\xfb\x03d";
        let (mut line, mut replies) = (Vec::new(), Vec::new());
        let mut f = TelnetFilter::new();
        for b in stream {
            f.feed(std::slice::from_ref(b), &mut line, &mut replies);
        }
        assert_eq!(line, b"a\xffbcd");
        // WILL SGA is agreed once; the repeated offer is not answered again.
        assert_eq!(replies, b"\xff\xfd\x03");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_console_fault_naming_the_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = Console::open_network("127.0.0.1", port, SerialProtocol::Raw, CrashPatterns::default(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("raw://127.0.0.1:{port}")), "{e}");
    }
}
