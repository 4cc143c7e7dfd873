//! Several attempts with one password at once. On a bench every round trip costs 50–300 ms, and a
//! recorder serves several connections, so the checks of one step — a login on each interface,
//! a play of each stream — go out together, in batches the lockout budget allows:
//!
//! - a batch holds at most `threshold - 1` attempts (all of them may be wrong) and at most the
//!   bench's `device.concurrency`;
//! - before a batch, the budget logs in with the known-good password if the wrong attempts already
//!   outstanding plus this batch could reach the threshold;
//! - after a batch, the count of wrong attempts in a row is what the worst order of arrival at the
//!   recorder would leave: the refused ones only if one was accepted (it may have come first),
//!   otherwise those on top of the count before.
//!
//! Before a batch of possibly-wrong attempts, the password the harness believes in is seen to log in
//! over HTTP CGI if it was not since it was believed or since the recorder last lost power (see
//! `Dut::confirmed`): otherwise the budget's known-good login could itself be wrong.
//!
//! An answer the network lost is asked once more, on its own, as any single login is. HTTP CGI's
//! refusal of the password the harness believes in is acted on after the batch it came in (the
//! next batch's budget must not log in with a password the device just refused), so callers put
//! HTTP CGI in the first batch.

use std::time::{Duration, Instant};

use resetlab_device::{
    Credentials, DeviceError, Interface, LoginOutcome, PlayOutcome, Rtsp, Stream, Target, try_login,
};

use super::Dut;

/// One attempt of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Try {
    /// A login on one interface (`try_login`).
    Login(Interface),
    /// Playing one stream over RTSP (`Rtsp::play`).
    Play(Stream),
}

/// What one attempt showed, and how long its answer took.
pub(super) enum Answer {
    Login(LoginOutcome, Duration),
    Play(PlayOutcome, Duration),
}

impl Answer {
    /// The login this amounts to.
    pub(super) fn login(&self) -> LoginOutcome {
        match self {
            Answer::Login(o, _) => o.clone(),
            Answer::Play(p, _) => p.login(),
        }
    }

    pub(super) fn took(&self) -> Duration {
        match self {
            Answer::Login(_, t) | Answer::Play(_, t) => *t,
        }
    }
}

impl Try {
    fn interface(self) -> Interface {
        match self {
            Try::Login(i) => i,
            Try::Play(_) => Interface::Rtsp,
        }
    }

    fn what(self, creds: &Credentials) -> String {
        match self {
            Try::Login(_) => format!("log in as {}", creds.user),
            Try::Play(stream) => format!("play the {stream} as {}", creds.user),
        }
    }

    async fn send(self, target: &Target, creds: &Credentials) -> Result<Answer, DeviceError> {
        let t = Instant::now();
        Ok(match self {
            Try::Login(i) => {
                let o = try_login(target, i, creds).await?;
                Answer::Login(o, t.elapsed())
            }
            Try::Play(stream) => {
                let o = Rtsp::play(target, creds, stream).await?;
                Answer::Play(o, t.elapsed())
            }
        })
    }
}

impl Dut {
    /// `tries` with `creds`, together within the lockout budget (see the module doc); the answers
    /// in the order of `tries`. The caller notes and judges them; the count of wrong attempts in a
    /// row is kept here.
    pub(super) async fn attempt_together(&mut self, creds: &Credentials, tries: &[Try]) -> Vec<Answer> {
        let threshold = usize::try_from(self.profile.lockout.threshold).unwrap_or(usize::MAX);
        let per_batch = threshold.saturating_sub(1).min(self.concurrency).max(1);
        let mut out = Vec::with_capacity(tries.len());
        let believed = self.known.get(&creds.user);
        if tries.len() > 1
            && believed.is_some()
            && believed != Some(&creds.password)
            && !self.confirmed.contains(&creds.user)
            && !self.lock_pending
            && self.reachable
        {
            // The budget's known-good login is known-good only once seen: see it before a batch of
            // possibly-wrong attempts spends the budget a search for the device's password needs.
            let good = self.credentials(&creds.user);
            Box::pin(self.login(
                Interface::Http,
                &good,
                "the password the harness holds (before possibly-wrong attempts)",
            ))
            .await;
        }
        for batch in tries.chunks(per_batch) {
            if !self.lock_pending {
                let n = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                Box::pin(self.keep_within_budget_for(Interface::Http, &creds.user, n)).await;
            }
            let before = self.wrong_in_a_row.get(&creds.user).copied().unwrap_or(0);
            let target = self.target.clone();
            let sent = futures::future::join_all(batch.iter().map(|t| t.send(&target, creds))).await;
            let mut answers = Vec::with_capacity(batch.len());
            for (&t, answer) in batch.iter().zip(sent) {
                let answer = match answer {
                    Ok(a) => a,
                    Err(e) if e.outcome_unknown() && self.reachable => {
                        self.before_asking_again(t.interface(), creds, t.what(creds), &e).await;
                        match t.send(&self.target, creds).await {
                            Ok(a) => a,
                            Err(e) => self.fail_on(e),
                        }
                    }
                    Err(e) => self.fail_on(e),
                };
                answers.push(answer);
            }
            let refused = answers.iter().filter(|a| a.login() != LoginOutcome::Accepted).count();
            let refused = u32::try_from(refused).unwrap_or(u32::MAX);
            // The count before the batch, plus what asking again after a lost answer counted.
            let counted = self.wrong_in_a_row.get(&creds.user).copied().unwrap_or(0);
            let wrong = if refused < u32::try_from(answers.len()).unwrap_or(u32::MAX) {
                refused + counted.saturating_sub(before)
            } else {
                counted + refused
            };
            self.wrong_in_a_row.insert(creds.user.clone(), wrong);
            // HTTP CGI refusing the password the harness believes in makes it suspect now, before
            // the next batch's budget would log in with it (see `Dut::noted_attempt`).
            let http_refused = batch
                .iter()
                .zip(&answers)
                .any(|(&t, a)| t == Try::Login(Interface::Http) && a.login() != LoginOutcome::Accepted);
            if http_refused && !self.lock_pending && self.known.get(&creds.user) == Some(&creds.password) {
                self.suspect.insert(creds.user.clone());
            }
            out.extend(answers);
        }
        out
    }
}
