//! One client call: what was sent (already redacted), on which interface, and the deadline the whole
//! call must meet — so every failure, wherever it happens, is named the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{DeviceError, ErrorKind};
use crate::interface::Interface;
use crate::stats::RequestCounters;
use crate::target::Target;

/// The context every step of a call reports failures in.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub interface: Interface,
    pub request: String,
    pub timeout: Duration,
    pub deadline: Instant,
    /// The target's counters: every request this call sends is counted there.
    pub counters: Arc<RequestCounters>,
}

impl Call {
    /// Start a call on `interface` for `request` with `target`'s deadline.
    pub(crate) fn start(interface: Interface, request: impl AsRef<str>, target: &Target) -> Self {
        Call {
            interface,
            request: crate::redact::request(request.as_ref()),
            timeout: target.timeout,
            deadline: Instant::now() + target.timeout,
            counters: target.counters(),
        }
    }

    /// One request of this call is going on the wire.
    pub(crate) fn count_request(&self) {
        self.counters.request(self.interface);
    }

    /// The next request of the same call (same deadline), e.g. the second step of a login.
    pub(crate) fn next(&self, request: impl AsRef<str>) -> Self {
        Call { request: crate::redact::request(request.as_ref()), ..self.clone() }
    }

    /// A failure of this call.
    pub(crate) fn fail(&self, kind: ErrorKind) -> DeviceError {
        DeviceError::new(self.interface, &self.request, kind)
    }

    /// Run one step before the deadline; on expiry the error says what was waited for.
    pub(crate) async fn step<T>(
        &self,
        waited_for: impl FnOnce() -> String,
        fut: impl Future<Output = T>,
    ) -> Result<T, DeviceError> {
        tokio::time::timeout_at(self.deadline, fut)
            .await
            .map_err(|_| self.fail(ErrorKind::Timeout { waited_for: waited_for(), after: self.timeout }))
    }
}
