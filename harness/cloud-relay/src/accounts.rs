//! App accounts: who may log in, which recorders (by serial) each owns, and the bearer tokens issued.
//! These are the app's own accounts; device passwords never come here.

use std::collections::{BTreeSet, HashMap};

use rand::Rng;
use resetlab_wire::Secret;

#[derive(Debug)]
struct Account {
    password: Secret,
    devices: BTreeSet<String>,
}

/// Accounts and sessions of the relay.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    accounts: HashMap<String, Account>,
    tokens: HashMap<String, String>,
}

impl Accounts {
    /// Create or replace an account owning `devices`.
    pub(crate) fn upsert(&mut self, user: &str, password: Secret, devices: BTreeSet<String>) {
        self.accounts
            .insert(user.to_owned(), Account { password, devices });
    }

    /// Give an existing account one more device; false when the account does not exist.
    pub(crate) fn grant(&mut self, user: &str, serial: &str) -> bool {
        match self.accounts.get_mut(user) {
            Some(a) => {
                a.devices.insert(serial.to_owned());
                true
            }
            None => false,
        }
    }

    /// A new bearer token when the password matches.
    pub(crate) fn login(&mut self, user: &str, password: &str) -> Option<String> {
        let a = self.accounts.get(user)?;
        if a.password.expose() != password {
            return None;
        }
        let token: String = {
            let mut rng = rand::rng();
            (0..32)
                .map(|_| format!("{:x}", rng.random_range(0..16u8)))
                .collect()
        };
        resetlab_wire::secret::remember(&token);
        self.tokens.insert(token.clone(), user.to_owned());
        Some(token)
    }

    /// The account a token belongs to.
    pub(crate) fn user_of(&self, token: &str) -> Option<&str> {
        self.tokens.get(token).map(String::as_str)
    }

    /// The serials an account owns.
    pub(crate) fn devices(&self, user: &str) -> Vec<String> {
        self.accounts
            .get(user)
            .map(|a| a.devices.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `user` owns `serial`.
    pub(crate) fn owns(&self, user: &str, serial: &str) -> bool {
        self.accounts
            .get(user)
            .is_some_and(|a| a.devices.contains(serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_issues_a_token_only_for_the_right_password_and_ownership_is_per_account() {
        let mut a = Accounts::default();
        a.upsert("me", Secret::new("pw-me"), ["SN1".to_owned()].into());
        a.upsert("you", Secret::new("pw-you"), BTreeSet::new());
        assert_eq!(a.login("me", "wrong"), None);
        assert_eq!(a.login("nobody", "pw-me"), None);
        let t = a.login("me", "pw-me").unwrap();
        assert_eq!(a.user_of(&t), Some("me"));
        assert!(a.owns("me", "SN1") && !a.owns("you", "SN1"));
        assert!(a.grant("you", "SN1") && a.owns("you", "SN1"));
        assert!(!a.grant("nobody", "SN1"));
        assert_eq!(a.devices("me"), vec!["SN1".to_owned()]);
    }
}
