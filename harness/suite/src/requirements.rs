//! The requirement catalogue (`fixtures/requirements.yaml`): the IDs scenarios are tagged with, their
//! text and source, and the profile (`article`, `vendor`, `etsi`, `asvs`, `cve`) each belongs to.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A requirement ID such as `ART-LEN6`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequirementId(pub String);

impl fmt::Display for RequirementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: RequirementId,
    pub profile: String,
    pub text: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalogue {
    pub article: String,
    pub requirements: Vec<Requirement>,
}

/// The catalogue shipped in the binary.
pub const CATALOGUE_YAML: &str = include_str!("../../../fixtures/requirements.yaml");

/// Tag prefixes that name requirements; any other tag (`@power`, `@destructive`) is a rig need or a marker.
const REQUIREMENT_PREFIXES: [&str; 5] = ["ART-", "VENDOR-", "ETSI-", "ASVS-", "CVE-"];

impl Catalogue {
    pub fn embedded() -> Self {
        resetlab_profile::parse_yaml("fixtures/requirements.yaml (embedded)", CATALOGUE_YAML)
            .expect("the embedded requirement catalogue is valid (checked by a unit test)")
    }

    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id.0 == id)
    }

    /// Requirements of the selected profiles (`article` and the firmware profile's `vendor` rules
    /// always included), in catalogue order.
    pub fn selected<'a>(&'a self, profiles: &'a [String]) -> impl Iterator<Item = &'a Requirement> + 'a {
        self.requirements
            .iter()
            .filter(move |r| matches!(r.profile.as_str(), "article" | "vendor") || profiles.contains(&r.profile))
    }

    /// Requirement tags among `tags` (with or without `@`).
    pub fn requirement_tags<'t>(tags: impl IntoIterator<Item = &'t String>) -> BTreeSet<RequirementId> {
        tags.into_iter()
            .map(|t| t.trim_start_matches('@'))
            .filter(|t| REQUIREMENT_PREFIXES.iter().any(|p| t.starts_with(p)))
            .map(|t| RequirementId(t.to_owned()))
            .collect()
    }

    /// Tags that look like requirement IDs but are not in the catalogue.
    pub fn unknown<'t>(&self, tags: impl IntoIterator<Item = &'t String>) -> Vec<String> {
        Self::requirement_tags(tags).into_iter().filter(|id| self.get(&id.0).is_none()).map(|id| id.0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_article_id_from_the_design() {
        let c = Catalogue::embedded();
        for id in [
            "ART-PRE-POWER",
            "ART-PRE-NET",
            "ART-KEEP-DEVICE",
            "ART-ADMIN",
            "ART-SECONDARY",
            "ART-IOS",
            "ART-ANDROID",
            "ART-FLOW",
            "ART-LEN6",
            "ART-CONFIRM",
            "ART-LOCAL",
            "ART-REMOTE",
            "ART-DURABLE",
        ] {
            assert!(c.get(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn unknown_requirement_tags_are_found_and_other_tags_ignored() {
        let c = Catalogue::embedded();
        let tags = ["@ART-LEN6".to_owned(), "@ART-LEN7".to_owned(), "@power".to_owned()];
        assert_eq!(c.unknown(&tags), vec!["ART-LEN7".to_owned()]);
    }
}
