//! labgrid places: a bench file's `labgrid: { coordinator: HOST:PORT, place: NAME }` says the bench is
//! shared through a labgrid coordinator, so a run acquires the place before it touches anything and
//! releases it at the end. A place someone else holds is a clear error that names the holder, before
//! anything changes; a lock a crashed run left is reported the same way (the holder is then this
//! host and user) with the command that frees it.
//!
//! labgrid is driven through its own client, `labgrid-client` (the coordinator's gRPC protocol is
//! labgrid's to change, its command line is its interface to users), with a deadline on every call.
//! The client is `labgrid-client` on PATH, or `RESETLAB_LABGRID_CLIENT`. What the place has
//! (coils, console, the recorder's address) is read in [`crate::place`].

use std::time::Duration;

use crate::command::run;
use crate::error::{Blame, RigError};

/// Deadline for one labgrid-client call.
pub const DEFAULT_LABGRID_TIMEOUT: Duration = Duration::from_secs(20);

/// `labgrid:` in a bench file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceSpec {
    /// The coordinator, `HOST:PORT`.
    pub coordinator: String,
    /// The place's name.
    pub place: String,
}

/// Quote one argument for `sh -c`.
fn quote(arg: &str) -> String {
    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/@=".contains(&b)) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

impl PlaceSpec {
    fn client() -> String {
        std::env::var("RESETLAB_LABGRID_CLIENT").unwrap_or_else(|_| "labgrid-client".into())
    }

    /// `labgrid-client -x COORDINATOR -p PLACE VERB…` as one shell command line.
    pub(crate) fn client_command(&self, verb: &str) -> String {
        format!("{} -x {} -p {} {verb}", quote(&Self::client()), quote(&self.coordinator), quote(&self.place))
    }

    /// Who holds the place now (`host/user`), or `None` when it is free.
    pub async fn holder(&self) -> Result<Option<String>, RigError> {
        let what = format!("labgrid place {}", self.place);
        let ran = run(&self.client_command("show"), &what, DEFAULT_LABGRID_TIMEOUT, Blame::Harness).await?;
        Ok(ran.stdout.lines().find_map(|l| {
            let v = l.trim().strip_prefix("acquired:")?.trim();
            (!v.is_empty() && v != "None").then(|| v.to_owned())
        }))
    }

    /// Acquire the place for this run. Held by someone else: [`RigError::PlaceHeld`] naming them.
    pub async fn acquire(&self) -> Result<PlaceLock, RigError> {
        let what = format!("acquire labgrid place {}", self.place);
        match run(&self.client_command("acquire"), &what, DEFAULT_LABGRID_TIMEOUT, Blame::Harness).await {
            Ok(_) => Ok(PlaceLock { spec: self.clone(), released: false }),
            Err(e) => match self.holder().await {
                Ok(Some(holder)) => Err(RigError::PlaceHeld {
                    place: self.place.clone(),
                    coordinator: self.coordinator.clone(),
                    holder,
                }),
                _ => Err(e),
            },
        }
    }
}

/// A place this run holds; [`PlaceLock::release`] gives it back (dropping it without does not: a
/// crashed run's lock stays, and the next run names it).
#[derive(Debug)]
pub struct PlaceLock {
    spec: PlaceSpec,
    released: bool,
}

impl PlaceLock {
    /// The place held.
    pub fn spec(&self) -> &PlaceSpec {
        &self.spec
    }

    /// Release the place.
    pub async fn release(mut self) -> Result<(), RigError> {
        let what = format!("release labgrid place {}", self.spec.place);
        run(&self.spec.client_command("release"), &what, DEFAULT_LABGRID_TIMEOUT, Blame::Harness).await?;
        self.released = true;
        Ok(())
    }
}

impl Drop for PlaceLock {
    fn drop(&mut self) {
        if !self.released {
            tracing::warn!(place = %self.spec.place, "labgrid place left acquired; `labgrid-client -p {} release` frees it", self.spec.place);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_the_shell() {
        assert_eq!(quote("127.0.0.1:20408"), "127.0.0.1:20408");
        assert_eq!(quote("bench 3"), "'bench 3'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
