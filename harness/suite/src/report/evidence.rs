//! What scenarios collect besides their steps — evidence, measurements, rig events, console lines,
//! thumbnails — kept by each scenario's teardown under its [`Key`] and merged into the run record
//! after the run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::record::{ConsoleLine, Evidence, Key, Measurement, RigEvent, RunRecord, ScenarioRef, Thumbnail};

/// Evidence collected by scenarios' teardown, merged into the record after the run.
pub type EvidenceStore = Mutex<BTreeMap<Key, Vec<Evidence>>>;

/// Attach each scenario's evidence to its record.
pub fn attach_evidence(record: &mut RunRecord, store: &EvidenceStore) {
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    for s in &mut record.scenarios {
        if let Some(ev) = store.remove(&(s.feature.clone(), s.line)) {
            s.evidence = ev;
        }
    }
}

/// What a scenario measured besides its evidence, collected by its teardown like the evidence
/// (times in ms on the scenario's own clock, as [`Evidence::at_ms`]).
#[derive(Debug, Clone, Default)]
pub struct ScenarioExtras {
    pub measurements: Vec<Measurement>,
    pub timeline: Vec<RigEvent>,
    pub console: Vec<ConsoleLine>,
    pub thumbnails: Vec<Thumbnail>,
}

/// Extras collected by scenarios' teardown, keyed like [`EvidenceStore`].
pub type ExtrasStore = Mutex<BTreeMap<Key, ScenarioExtras>>;

/// Move each scenario's extras into the run-level lists: tag them with the scenario and shift their
/// times from the scenario's clock to the run's (the scenario starts at its first step).
pub fn attach_extras(record: &mut RunRecord, store: &ExtrasStore) {
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    for s in &record.scenarios {
        let Some(extras) = store.remove(&(s.feature.clone(), s.line)) else { continue };
        let start = s.steps.iter().filter_map(|st| st.started_ms).min().unwrap_or(0);
        let me = Some(ScenarioRef::of(s));
        record.measurements.extend(extras.measurements.into_iter().map(|m| Measurement { scenario: me.clone(), ..m }));
        record.timeline.extend(extras.timeline.into_iter().map(|e| RigEvent {
            scenario: me.clone(),
            at_ms: start + e.at_ms,
            ..e
        }));
        record.console.extend(extras.console.into_iter().map(|c| ConsoleLine {
            scenario: me.clone(),
            at_ms: start + c.at_ms,
            ..c
        }));
        for t in extras.thumbnails {
            let file = format!("thumbnails/{:03}.png", record.thumbnails.len() + 1);
            record.thumbnails.push(Thumbnail { scenario: me.clone(), at_ms: start + t.at_ms, file, ..t });
        }
    }
    record.timeline.sort_by_key(|e| e.at_ms);
    record.console.sort_by_key(|c| c.at_ms);
}
