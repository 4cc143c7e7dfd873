//! Passwords the harness makes up: fresh random ones from a firmware's character set, so no
//! password is ever written in a feature file or a report. Used by the steps, the lab's set-up and
//! the emulated app accounts alike.

use rand::Rng;
use resetlab_profile::PasswordRule;
use resetlab_wire::Secret;

/// A fresh random password of `len` characters from the profile's character set.
pub fn generate(rule: &PasswordRule, len: usize) -> Secret {
    let alphabet = rule.charset.alphabet();
    let mut rng = rand::rng();
    Secret::new((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect::<String>())
}

/// A fresh password of `len` characters that differs from `other`.
pub fn generate_other_than(rule: &PasswordRule, len: usize, other: &Secret) -> Secret {
    loop {
        let p = generate(rule, len);
        if p != *other {
            return p;
        }
    }
}
