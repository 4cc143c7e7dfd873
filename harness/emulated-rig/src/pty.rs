//! Pseudo-terminal pairs: we keep the master (the "far end" of the cable) and expose the slave's
//! path (/dev/pts/N), which any serial tool opens like a USB adapter. We also hold the slave open
//! (without any lock, so clients may take theirs) so the master never sees a hang-up between
//! clients.

use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use tokio_serial::{SerialPort, SerialStream};

use crate::EmulatedRigError;

pub(crate) struct Pty {
    pub(crate) path: PathBuf,
    _slave: std::fs::File,
}

impl Pty {
    pub(crate) fn open(what: &str) -> Result<(Pty, SerialStream), EmulatedRigError> {
        let err = |e: &dyn std::fmt::Display| EmulatedRigError::Setup { what: what.to_owned(), message: e.to_string() };
        let (master, slave) = SerialStream::pair().map_err(|e| err(&e))?;
        let path = slave.name().map(PathBuf::from).ok_or_else(|| err(&"pseudo-terminal has no name"))?;
        // serialport's own handle holds a lock; a plain open holds nothing but the line.
        let hold = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| err(&e))?;
        drop(slave);
        Ok((Pty { path, _slave: hold }, master))
    }
}
