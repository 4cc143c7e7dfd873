//! A lossy link: a TCP forwarder between the harness and a recorder that does to one kind of
//! request what a flaky bench network does — loses the answer after the recorder acted, resets the
//! connection before the request arrives, stalls past the client's deadline, cuts the answer short.
//!
//! It sits outside the recorder (and outside the device clients), so the real client stack sees
//! the fault exactly as it would on a bench: the fault tests prove that a lost answer is
//! reconciled and attributed to the network, never blamed on the firmware.
//!
//! It understands just enough HTTP/1.1 and RTSP/1.0 to find message boundaries (a head ending in a
//! blank line, then `Content-Length` bytes); after an RTSP `PLAY` it forwards bytes as they come.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to a request that [`Fault::applies_to`] picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward the request; once the recorder has answered, close the client's connection instead
    /// of passing the answer on (the change happened, the answer is lost).
    DropAnswer,
    /// Reset the client's connection before the request reaches the recorder.
    ResetBefore,
    /// Forward the request, then hold the answer for this long before closing (past the client's
    /// deadline).
    Stall(Duration),
    /// Pass on only the first half of the answer, then close.
    Truncate,
}

/// Which requests a link spoils: every `every`-th request (counting from 1) whose head contains
/// all of `markers` (ignoring case: HTTP/1.1 clients may send header names in lower case).
#[derive(Debug, Clone)]
pub struct Rule {
    pub markers: Vec<String>,
    pub every: usize,
    pub fault: Fault,
}

impl Rule {
    /// Every `every`-th authenticated `modifyPassword` over HTTP CGI.
    pub fn password_changes(every: usize, fault: Fault) -> Rule {
        Rule { markers: vec!["action=modifyPassword".into(), "Authorization:".into()], every, fault }
    }

    /// Every `every`-th authenticated RTSP `DESCRIBE`.
    pub fn describes(every: usize, fault: Fault) -> Rule {
        Rule { markers: vec!["DESCRIBE ".into(), "Authorization:".into()], every, fault }
    }
}

/// A fault the embedded lab puts on its relay path (`certify --relay-fault KIND[:EVERY]`): a lossy
/// link between the recorder's P2P client and its HTTP service (the device's own network) spoils
/// every `every`-th password change the app sends. A rehearsal of a flaky network, so a lab can
/// see that an answer lost on the way to the app is reconciled and blamed on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayFault {
    pub fault: Fault,
    pub every: usize,
}

impl RelayFault {
    /// The link's rule: every `every`-th authenticated `modifyPassword`.
    pub fn rule(self) -> Rule {
        Rule::password_changes(self.every, self.fault)
    }

    /// The name `--relay-fault` takes.
    pub fn name(self) -> String {
        let kind = match self.fault {
            Fault::DropAnswer => "drop-answer",
            Fault::ResetBefore => "reset-before",
            Fault::Stall(_) => "stall",
            Fault::Truncate => "truncate",
        };
        format!("{kind}:{}", self.every)
    }
}

/// How long a `stall` on the relay path holds an answer: past the relay's own deadline for a
/// tunneled answer (10 s), which then answers the app 504.
pub const RELAY_STALL: Duration = Duration::from_secs(12);

impl std::str::FromStr for RelayFault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, every) = s.split_once(':').unwrap_or((s, "1"));
        let fault = match kind {
            "drop-answer" => Fault::DropAnswer,
            "reset-before" => Fault::ResetBefore,
            "stall" => Fault::Stall(RELAY_STALL),
            "truncate" => Fault::Truncate,
            _ => {
                return Err(format!(
                    "unknown relay fault `{kind}` (expected drop-answer, reset-before, stall or truncate, optionally :EVERY)"
                ));
            }
        };
        let every =
            every.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("`{every}` is not a positive count (KIND:EVERY spoils every EVERY-th change)")
            })?;
        Ok(RelayFault { fault, every })
    }
}

/// A running lossy link; it stops when dropped.
#[derive(Debug)]
pub struct LossyLink {
    pub addr: SocketAddr,
    matched: Arc<AtomicUsize>,
    spoiled: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// Longest head or body the link buffers (it is a test tool, not a proxy).
const MAX_MESSAGE: usize = 1 << 20;

impl LossyLink {
    /// Listen on a free loopback port and forward every connection to `upstream`, applying `rule`.
    pub async fn start(upstream: SocketAddr, rule: Rule) -> std::io::Result<LossyLink> {
        LossyLink::start_counting(upstream, rule, Arc::default()).await
    }

    /// As [`LossyLink::start`], counting the requests the rule matches in `matched`: links that
    /// share it are one flaky network, where "every second change" counts across all of them.
    pub async fn start_counting(
        upstream: SocketAddr,
        rule: Rule,
        matched: Arc<AtomicUsize>,
    ) -> std::io::Result<LossyLink> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let spoiled = Arc::new(AtomicUsize::new(0));
        let rule = Arc::new(rule);
        let (m, s) = (matched.clone(), spoiled.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (rule, m, s) = (rule.clone(), m.clone(), s.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = carry(client, server, &rule, &m, &s).await;
                    }
                });
            }
        });
        Ok(LossyLink { addr, matched, spoiled, task })
    }

    /// Requests the rule matched so far.
    pub fn matched(&self) -> usize {
        self.matched.load(Ordering::SeqCst)
    }

    /// Requests the link spoiled so far.
    pub fn spoiled(&self) -> usize {
        self.spoiled.load(Ordering::SeqCst)
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection, request by request.
async fn carry(
    mut client: TcpStream,
    mut server: TcpStream,
    rule: &Rule,
    matched: &AtomicUsize,
    spoiled: &AtomicUsize,
) -> std::io::Result<()> {
    loop {
        let Some(request) = read_message(&mut client).await? else {
            return Ok(());
        };
        let head = head_of(&request);
        let lower = head.to_ascii_lowercase();
        let fault = if rule.markers.iter().all(|m| lower.contains(&m.to_ascii_lowercase())) {
            let n = matched.fetch_add(1, Ordering::SeqCst) + 1;
            n.is_multiple_of(rule.every.max(1)).then_some(rule.fault)
        } else {
            None
        };
        if fault.is_some() {
            spoiled.fetch_add(1, Ordering::SeqCst);
        }
        if fault == Some(Fault::ResetBefore) {
            // SO_LINGER 0: the close sends a RST, as a switch port that flaps would. (Deprecated
            // because a non-zero linger blocks on drop; a zero linger does not.)
            #[allow(deprecated)]
            client.set_linger(Some(Duration::ZERO))?;
            return Ok(());
        }
        server.write_all(&request).await?;
        let Some(answer) = read_message(&mut server).await? else {
            return Ok(());
        };
        match fault {
            None | Some(Fault::ResetBefore) => client.write_all(&answer).await?,
            Some(Fault::DropAnswer) => return Ok(()),
            Some(Fault::Stall(hold)) => {
                tokio::time::sleep(hold).await;
                return Ok(());
            }
            Some(Fault::Truncate) => {
                client.write_all(&answer[..answer.len() / 2]).await?;
                return Ok(());
            }
        }
        if head.starts_with("PLAY ") {
            // The stream follows, not another answer: pass bytes on as they come.
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
            return Ok(());
        }
    }
}

/// The head of a message as text (for matching only).
fn head_of(message: &[u8]) -> String {
    let end = find(message, b"\r\n\r\n").unwrap_or(message.len());
    String::from_utf8_lossy(&message[..end]).into_owned()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One whole message (head, blank line, `Content-Length` body, or a chunked body), or `None` at a
/// clean end of stream.
async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    // Head, byte by byte: simple, and never reads past the message.
    let head_end = loop {
        if r.read(&mut byte).await? == 0 {
            return if buf.is_empty() { Ok(None) } else { Err(std::io::ErrorKind::UnexpectedEof.into()) };
        }
        buf.push(byte[0]);
        if buf.ends_with(b"\r\n\r\n") {
            break buf.len();
        }
        if buf.len() > MAX_MESSAGE {
            return Err(std::io::Error::other("message head too large"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let header = |name: &str| head.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()));
    if let Some(len) = header("content-length:").and_then(|v| v.parse::<usize>().ok()) {
        if len > MAX_MESSAGE {
            return Err(std::io::Error::other("message body too large"));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        buf.extend_from_slice(&body);
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        let last_chunk =
            |b: &[u8]| b.ends_with(b"\r\n0\r\n\r\n") || (b.len() == head_end + 5 && b.ends_with(b"0\r\n\r\n"));
        while !last_chunk(&buf) {
            if r.read(&mut byte).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.push(byte[0]);
            if buf.len() > MAX_MESSAGE {
                return Err(std::io::Error::other("message body too large"));
            }
        }
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_one_message_at_a_time() {
        let mut input: &[u8] = b"GET /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        assert_eq!(
            read_message(&mut input).await.unwrap().unwrap(),
            b"GET /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
        );
        assert_eq!(read_message(&mut input).await.unwrap().unwrap(), b"GET /b HTTP/1.1\r\n\r\n");
        assert!(read_message(&mut input).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn reads_a_chunked_body_to_its_end() {
        let mut input: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nnext";
        let m = read_message(&mut input).await.unwrap().unwrap();
        assert!(m.ends_with(b"0\r\n\r\n"));
        assert_eq!(input, b"next");
    }

    #[test]
    fn relay_faults_parse_with_and_without_a_count() {
        let f: RelayFault = "drop-answer:2".parse().unwrap();
        assert_eq!(f, RelayFault { fault: Fault::DropAnswer, every: 2 });
        assert_eq!(f.name(), "drop-answer:2");
        assert_eq!("stall".parse::<RelayFault>().unwrap(), RelayFault { fault: Fault::Stall(RELAY_STALL), every: 1 });
        assert!("drop".parse::<RelayFault>().unwrap_err().contains("expected drop-answer"));
        assert!("truncate:0".parse::<RelayFault>().unwrap_err().contains("positive"));
    }
}
