//! What the journal's records add up to: for each device account not yet restored, its baseline
//! and the changes made since, and from those the passwords the device may hold now; and the
//! accounts the harness added to a device and has not removed yet.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use resetlab_wire::Secret;

use crate::key::{ChangeId, DeviceKey, Outcome};
use crate::record::{Event, Record};

/// A device account whose baseline password has not been confirmed restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The device account.
    pub key: DeviceKey,
    /// The password the device had before this run touched it; recovery puts it back.
    pub baseline: Secret,
    /// Every password the device may hold now, most likely first, each once (baseline included).
    pub candidates: Vec<Secret>,
    /// The changes recorded since the baseline, oldest first.
    pub changes: Vec<ChangeStatus>,
    /// When the first unfinished record for this account was written.
    pub since: SystemTime,
}

/// One recorded change and how it ended, if the harness got to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeStatus {
    /// The change.
    pub id: ChangeId,
    /// `None` when the harness stopped before recording an outcome.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone)]
struct Change {
    id: u64,
    old: Secret,
    new: Secret,
    outcome: Option<Outcome>,
}

#[derive(Debug, Default)]
struct Entry {
    /// Set by a `baseline` record, or by the first change's `old` when no baseline was recorded.
    baseline: Option<Secret>,
    changes: Vec<Change>,
    /// The records this entry was built from, kept so that compaction can write them back as they were.
    records: Vec<Record>,
    since_ms: u64,
}

/// An account the harness added to a device (or was about to) and has not removed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedAccount {
    /// The added account on its device.
    pub key: DeviceKey,
    /// The administrator account that removes it.
    pub by: String,
    /// The administrator's baseline password: what it holds once password recovery is done.
    pub by_password: Secret,
    /// When the account was journaled.
    pub since: SystemTime,
}

/// The replayed journal.
#[derive(Debug, Default)]
pub(crate) struct State {
    entries: BTreeMap<DeviceKey, Entry>,
    /// Added accounts not yet removed, each with the record that added it.
    added: BTreeMap<DeviceKey, (AddedAccount, Record)>,
    /// Records of finished entries (their `restored` record included): what compaction drops.
    pub dead: usize,
}

impl State {
    /// Add one record; the error says why the record cannot follow the ones before it.
    pub fn apply(&mut self, record: Record) -> Result<(), String> {
        match &record.event {
            Event::Baseline { device, password } => {
                let password = password.clone();
                let entry = self.entry(device, record.at_ms);
                if entry.baseline.is_none() {
                    entry.baseline = Some(password);
                }
                entry.records.push(record);
            }
            Event::Intended { device, old, new } => {
                let change = Change { id: record.seq, old: old.clone(), new: new.clone(), outcome: None };
                let entry = self.entry(device, record.at_ms);
                if entry.baseline.is_none() {
                    entry.baseline = Some(change.old.clone());
                }
                entry.changes.push(change);
                entry.records.push(record);
            }
            Event::Outcome { change, outcome } => {
                let (change, outcome) = (*change, *outcome);
                let entry = self
                    .entries
                    .values_mut()
                    .find(|e| e.changes.iter().any(|c| c.id == change))
                    .ok_or_else(|| format!("outcome for change {change}, which is not an unfinished change"))?;
                let c = entry.changes.iter_mut().find(|c| c.id == change).expect("found above");
                c.outcome = Some(outcome);
                entry.records.push(record);
            }
            Event::Restored { device } => {
                let finished = self.entries.remove(device).map_or(0, |e| e.records.len());
                self.dead += finished + 1;
            }
            Event::AccountAdded { device, by, by_password } => {
                let added = AddedAccount {
                    key: device.clone(),
                    by: by.clone(),
                    by_password: by_password.clone(),
                    since: UNIX_EPOCH + Duration::from_millis(record.at_ms),
                };
                // The same name added again (a retried add) replaces the earlier record: one removal
                // finishes both, and compaction drops the earlier one.
                if self.added.insert(device.clone(), (added, record)).is_some() {
                    self.dead += 1;
                }
            }
            Event::AccountRemoved { device } => {
                let finished = usize::from(self.added.remove(device).is_some());
                self.dead += finished + 1;
            }
        }
        Ok(())
    }

    /// Whether nothing at all is unfinished: no password entry and no added account.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.added.is_empty()
    }

    /// Whether `key` is an added account not yet removed.
    pub fn is_added(&self, key: &DeviceKey) -> bool {
        self.added.contains_key(key)
    }

    /// The added accounts not yet removed, ordered by device account.
    pub fn added_accounts(&self) -> Vec<AddedAccount> {
        self.added.values().map(|(a, _)| a.clone()).collect()
    }

    fn entry(&mut self, key: &DeviceKey, at_ms: u64) -> &mut Entry {
        self.entries.entry(key.clone()).or_insert_with(|| Entry { since_ms: at_ms, ..Entry::default() })
    }

    /// Whether anything is recorded for `key` that has not been restored.
    pub fn is_unfinished(&self, key: &DeviceKey) -> bool {
        self.entries.contains_key(key)
    }

    /// The key that change `id` belongs to, while it is unfinished.
    pub fn owner_of(&self, id: u64) -> Option<&DeviceKey> {
        self.entries.iter().find(|(_, e)| e.changes.iter().any(|c| c.id == id)).map(|(k, _)| k)
    }

    /// The unfinished entry for `key`.
    pub fn pending(&self, key: &DeviceKey) -> Option<Pending> {
        self.entries.get(key).map(|e| pending(key, e))
    }

    /// Every unfinished entry, ordered by device account.
    pub fn unfinished(&self) -> Vec<Pending> {
        self.entries.iter().map(|(k, e)| pending(k, e)).collect()
    }

    /// The records of unfinished entries, in journal order.
    pub fn live_records(&self) -> Vec<&Record> {
        let mut live: Vec<&Record> =
            self.entries.values().flat_map(|e| e.records.iter()).chain(self.added.values().map(|(_, r)| r)).collect();
        live.sort_by_key(|r| r.seq);
        live
    }
}

fn pending(key: &DeviceKey, entry: &Entry) -> Pending {
    let baseline = entry.baseline.clone().expect("an entry is created by a baseline or a change");
    Pending {
        key: key.clone(),
        candidates: candidates(&baseline, &entry.changes),
        baseline,
        changes: entry.changes.iter().map(|c| ChangeStatus { id: ChangeId(c.id), outcome: c.outcome }).collect(),
        since: UNIX_EPOCH + Duration::from_millis(entry.since_ms),
    }
}

/// The passwords the device may hold, most likely first. The latest change decides the head: its
/// new password if it committed or nobody knows (a crash after sending usually means the device took
/// it), its old one if it was reverted. Earlier changes follow, newest first, then the baseline.
fn candidates(baseline: &Secret, changes: &[Change]) -> Vec<Secret> {
    let mut out: Vec<Secret> = Vec::new();
    let mut push = |s: &Secret| {
        if !out.contains(s) {
            out.push(s.clone());
        }
    };
    for c in changes.iter().rev() {
        match c.outcome {
            Some(Outcome::Reverted) => {
                push(&c.old);
                push(&c.new);
            }
            Some(Outcome::Committed) | Some(Outcome::Unknown) | None => {
                push(&c.new);
                push(&c.old);
            }
        }
    }
    push(baseline);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, event: Event) -> Record {
        Record { seq, at_ms: seq, event }
    }

    fn s(v: &str) -> Secret {
        Secret::new(v)
    }

    fn plain(list: &[Secret]) -> Vec<&str> {
        list.iter().map(|s| s.expose()).collect()
    }

    #[test]
    fn a_change_without_outcome_puts_the_new_password_first_then_the_old() {
        let key = DeviceKey::new("SN1", "admin");
        let mut st = State::default();
        st.apply(rec(1, Event::Baseline { device: key.clone(), password: s("base01") })).unwrap();
        st.apply(rec(2, Event::Intended { device: key.clone(), old: s("base01"), new: s("new002") })).unwrap();
        let p = st.pending(&key).unwrap();
        assert_eq!(plain(&p.candidates), ["new002", "base01"]);
    }

    #[test]
    fn a_reverted_last_change_puts_its_old_password_first() {
        let key = DeviceKey::new("SN1", "admin");
        let mut st = State::default();
        st.apply(rec(1, Event::Intended { device: key.clone(), old: s("base01"), new: s("new002") })).unwrap();
        st.apply(rec(2, Event::Outcome { change: 1, outcome: Outcome::Committed })).unwrap();
        st.apply(rec(3, Event::Intended { device: key.clone(), old: s("new002"), new: s("new003") })).unwrap();
        st.apply(rec(4, Event::Outcome { change: 3, outcome: Outcome::Reverted })).unwrap();
        let p = st.pending(&key).unwrap();
        assert_eq!(plain(&p.candidates), ["new002", "new003", "base01"]);
        assert_eq!(p.baseline.expose(), "base01");
        assert_eq!(p.changes.len(), 2);
    }

    #[test]
    fn restored_finishes_the_key_and_counts_its_records_as_dead() {
        let key = DeviceKey::new("SN1", "admin");
        let mut st = State::default();
        st.apply(rec(1, Event::Baseline { device: key.clone(), password: s("base01") })).unwrap();
        st.apply(rec(2, Event::Restored { device: key.clone() })).unwrap();
        assert!(st.unfinished().is_empty());
        assert_eq!(st.dead, 2);
    }

    #[test]
    fn an_outcome_for_an_unknown_change_is_refused() {
        let mut st = State::default();
        let err = st.apply(rec(1, Event::Outcome { change: 9, outcome: Outcome::Committed })).unwrap_err();
        assert!(err.contains("change 9"), "{err}");
    }

    #[test]
    fn an_added_account_stays_unfinished_until_removed_and_then_is_dead() {
        let account = DeviceKey::new("SN1", "qa1234");
        let mut st = State::default();
        let added = || Event::AccountAdded { device: account.clone(), by: "admin".into(), by_password: s("base01") };
        st.apply(rec(1, added())).unwrap();
        assert!(!st.is_empty());
        assert!(st.is_added(&account));
        assert_eq!(st.live_records().len(), 1);
        // Added twice (a retried add): still one account, the earlier record is dead.
        st.apply(rec(2, added())).unwrap();
        assert_eq!(st.added_accounts().len(), 1);
        assert_eq!(st.added_accounts()[0].by_password.expose(), "base01");
        assert_eq!((st.dead, st.live_records().len()), (1, 1));
        st.apply(rec(3, Event::AccountRemoved { device: account.clone() })).unwrap();
        assert!(st.is_empty());
        assert!(st.live_records().is_empty());
        assert_eq!(st.dead, 3);
    }
}
