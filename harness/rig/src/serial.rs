//! An open serial port that gives up its exclusive lock when closed. serialport sets TIOCEXCL on
//! open but never clears it; on a line someone else keeps open (a pseudo-terminal, a port shared
//! with a monitor) the lock would outlive us and lock out the next user.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::{SerialPort, SerialStream};

/// A serial port opened by the rig.
#[derive(Debug)]
pub(crate) struct Port(pub(crate) SerialStream);

impl Port {
    /// Open `path` at `baud` 8N1 and drop whatever was queued before.
    pub(crate) fn open(path: &std::path::Path, baud: u32) -> Result<Port, tokio_serial::Error> {
        let port = SerialStream::open(&tokio_serial::new(path.to_string_lossy(), baud))?;
        port.clear(tokio_serial::ClearBuffer::Input)?;
        Ok(Port(port))
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        let _ = self.0.set_exclusive(false);
    }
}

impl AsyncRead for Port {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Port {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
