//! The RPC2 `global.login` password hash of Dahua-family firmware ("Default" encryption).
//!
//! `UPPER(MD5(user:random:UPPER(MD5(user:realm:password))))`, as DESIGN.md §3 states it.

use crate::digest::md5_hex;

/// The value a client sends as `password` in the second `global.login` call.
pub fn login_hash(user: &str, realm: &str, random: &str, password: &str) -> String {
    login_hash_from_stored(user, random, &stored_hash(user, realm, password))
}

/// What the firmware stores for an account, `UPPER(MD5(user:realm:password))`: the inner half of
/// the login hash, and all a client needs to log in (a leaked copy logs in without the password:
/// "pass-the-hash").
pub fn stored_hash(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{user}:{realm}:{password}")).to_uppercase()
}

/// The `password` of the second `global.login` call, from the stored hash instead of the password.
pub fn login_hash_from_stored(user: &str, random: &str, stored: &str) -> String {
    md5_hex(&format!("{user}:{random}:{stored}")).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check vector from DESIGN.md §3 (also found in public Dahua RPC2 client implementations).
    #[test]
    fn design_check_vector() {
        assert_eq!(
            login_hash("admin", "Login to a0c50bcd05b2f03d067e530d9bf069af", "1172275829", "123"),
            "2E9AD6D2DB08E0882F376A622BC76B9A"
        );
    }

    /// The same vector through the stored hash: the login needs the hash only, not the password.
    #[test]
    fn login_from_the_stored_hash_is_the_same_login() {
        let realm = "Login to a0c50bcd05b2f03d067e530d9bf069af";
        let stored = stored_hash("admin", realm, "123");
        assert_eq!(stored, stored.to_uppercase());
        assert_eq!(login_hash_from_stored("admin", "1172275829", &stored), "2E9AD6D2DB08E0882F376A622BC76B9A");
    }
}
