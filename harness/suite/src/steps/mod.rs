//! Step definitions: one small function per sentence, no protocol code. Each module covers one part
//! of the article.

pub mod app;
pub mod local;
pub mod rig;
pub mod standards;

use rand::Rng;
use resetlab_profile::PasswordRule;
use resetlab_wire::Secret;

/// A fresh random password of `len` characters from the profile's character set, so no password is
/// ever written in a feature file or a report.
pub fn generate_password(rule: &PasswordRule, len: usize) -> Secret {
    let alphabet = rule.charset.alphabet();
    let mut rng = rand::rng();
    Secret::new((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect::<String>())
}
