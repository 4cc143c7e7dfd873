//! The credentials the relay mints and checks: random 256-bit values (device tunnel secrets, bearer
//! tokens), kept only as SHA-256 hashes and compared in constant time.
//!
//! SHA-256 rather than a slow password hash: these values are 256 bits from a CSPRNG, so there is
//! nothing to brute-force from a hash, and a fast hash keeps the tunnel upgrade and every API call
//! cheap. App-account passwords, which people choose, are hashed with argon2 instead
//! (see `accounts.rs`).

use rand::RngCore;
use resetlab_wire::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a credential.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Hashed([u8; 32]);

impl std::fmt::Debug for Hashed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hashed(…)")
    }
}

impl Hashed {
    /// The hash of `value`.
    pub(crate) fn of(value: &str) -> Hashed {
        Hashed(Sha256::digest(value.as_bytes()).into())
    }

    /// Whether `presented` hashes to this, in time independent of where they differ.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        Hashed::of(presented).0.ct_eq(&self.0).into()
    }
}

/// A fresh 256-bit random credential as 64 hex digits (`rand::rng()` is a CSPRNG seeded by the OS).
pub(crate) fn mint() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh device tunnel secret, as a [`Secret`] (the harness holds it: it is remembered for
/// redaction like every password the run knows).
pub(crate) fn mint_secret() -> Secret {
    Secret::new(mint())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_only_its_value_and_prints_nothing() {
        let v = mint();
        assert_eq!(v.len(), 64);
        assert_ne!(v, mint());
        let h = Hashed::of(&v);
        assert!(h.matches(&v));
        assert!(!h.matches(&v[1..]) && !h.matches(""));
        assert!(!format!("{h:?}").contains(&v[..8]));
    }
}
