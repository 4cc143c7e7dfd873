//! App-account passwords at rest: argon2id hashes in PHC form (`$argon2id$v=19$m=…$salt$hash`),
//! never the password. A person chooses these passwords, so the hash must be slow to brute-force;
//! the cost is part of the PHC string, so a relay can change [`HashCost`] without invalidating the
//! hashes it already holds.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// The argon2id cost of new password hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Parallel lanes.
    pub lanes: u32,
}

impl HashCost {
    /// The emulated lab's cost, **light on purpose**: 1 MiB and one pass (about a millisecond).
    /// The lab creates a throwaway account with a random 12-character password per scenario and
    /// the tests sign in hundreds of times; the full cost would add seconds to every test run
    /// without protecting anything real. Not for a relay that holds people's passwords.
    pub const LAB: HashCost = HashCost { memory_kib: 1024, iterations: 1, lanes: 1 };

    /// OWASP's recommended minimum for argon2id (19 MiB, 2 passes, 1 lane): for a relay whose
    /// accounts belong to people.
    pub const OWASP: HashCost = HashCost { memory_kib: 19 * 1024, iterations: 2, lanes: 1 };

    fn hasher(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.lanes, None)
            .expect("HashCost holds valid argon2 parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// The PHC string of `password` with a fresh random salt.
pub(crate) fn hash(password: &str, cost: HashCost) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    cost.hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with valid parameters")
        .to_string()
}

/// Whether `password` matches the PHC string `phc` (argon2 compares the hashes in constant time).
/// A malformed `phc` matches nothing.
pub(crate) fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_salted_argon2id_and_verifies_only_the_password() {
        let a = hash("app-pass", HashCost::LAB);
        let b = hash("app-pass", HashCost::LAB);
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("app-pass"));
        assert!(verify("app-pass", &a) && verify("app-pass", &b));
        assert!(!verify("app-pasS", &a) && !verify("", &a) && !verify("app-pass", "garbage"));
    }
}
