//! The RPC2 `global.login` password hash of Dahua-family firmware ("Default" encryption).
//!
//! `UPPER(MD5(user:random:UPPER(MD5(user:realm:password))))`, as DESIGN.md §3 states it.

use crate::digest::md5_hex;

/// The value a client sends as `password` in the second `global.login` call.
pub fn login_hash(user: &str, realm: &str, random: &str, password: &str) -> String {
    let inner = md5_hex(&format!("{user}:{realm}:{password}")).to_uppercase();
    md5_hex(&format!("{user}:{random}:{inner}")).to_uppercase()
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
}
