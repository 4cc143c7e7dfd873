//! Passwords the harness makes up: fresh random ones from a firmware's character set, so no
//! password is ever written in a feature file or a report. Used by the steps, the lab's set-up and
//! the emulated app accounts alike.
//!
//! Two kinds. A *plain* password ([`generate`]) is letters and digits where the profile allows
//! them: set-up, wrong passwords, a secondary user's, the lengths ART-LEN6 tries — checks that are
//! about something else, so a character that needs escaping cannot make them fail for another
//! reason. A password *of every class* ([`generate_every_class`]) has a lower-case letter, an
//! upper-case letter, a digit and symbols that need escaping in a URL, a CGI query, JSON, XML and a
//! Digest header, as far as the profile allows each: the new password whose login ART-LOCAL,
//! ART-REMOTE and ART-DURABLE judge, so an escaping bug anywhere on its way shows there.

use rand::Rng;
use rand::seq::SliceRandom;
use resetlab_profile::PasswordRule;
use resetlab_wire::Secret;

/// Symbols that some layer must escape (percent-encoding, form encoding's `+`, JSON, XML, Digest
/// quoted strings, URL userinfo and path), most often mishandled first.
const TROUBLESOME: &[char] =
    &['%', '&', '+', '"', '\\', '#', '=', '?', '/', '@', ':', '<', '>', '\'', ';', ',', '!', '$', '*', '(', ')'];

/// A fresh random plain password of `len` characters: letters and digits from the profile's set
/// (its whole set when that has none).
pub fn generate(rule: &PasswordRule, len: usize) -> Secret {
    let all = rule.charset.alphabet();
    let plain: Vec<char> = all.iter().copied().filter(char::is_ascii_alphanumeric).collect();
    let alphabet = if plain.is_empty() { all } else { plain };
    let mut rng = rand::rng();
    Secret::new((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect::<String>())
}

/// A fresh random password of `len` characters with one character of every class the profile
/// allows (lower case, upper case, digit, symbol) while `len` has room, the symbols taken from
/// those that need escaping, and the rest from the whole set; shuffled.
pub fn generate_every_class(rule: &PasswordRule, len: usize) -> Secret {
    let all = rule.charset.alphabet();
    let mut rng = rand::rng();
    let pick = |rng: &mut rand::rngs::ThreadRng, from: &[char]| from[rng.random_range(0..from.len())];
    let class = |f: fn(&char) -> bool| all.iter().copied().filter(f).collect::<Vec<char>>();
    let troublesome: Vec<char> = TROUBLESOME.iter().copied().filter(|&c| rule.charset.allows(c)).collect();
    let mut out = Vec::with_capacity(len);
    for from in [class(char::is_ascii_lowercase), class(char::is_ascii_uppercase), class(char::is_ascii_digit)] {
        if !from.is_empty() && out.len() < len {
            out.push(pick(&mut rng, &from));
        }
    }
    // The rest are symbols that need escaping, each at most once, while there are any.
    let mut symbols = troublesome.clone();
    symbols.shuffle(&mut rng);
    for c in symbols {
        if out.len() == len {
            break;
        }
        out.push(c);
    }
    while out.len() < len {
        out.push(pick(&mut rng, &all));
    }
    out.shuffle(&mut rng);
    Secret::new(out.into_iter().collect::<String>())
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

#[cfg(test)]
mod tests {
    use super::*;
    use resetlab_profile::Charset;

    fn rule(charset: Charset) -> PasswordRule {
        let mut r = resetlab_profile::flir_2017().password_rule;
        r.charset = charset;
        r
    }

    #[test]
    fn every_class_the_profile_allows_is_in_the_password() {
        for _ in 0..200 {
            let p = generate_every_class(&rule(Charset::PrintableAscii), 6);
            let s = p.expose();
            assert_eq!(s.chars().count(), 6);
            assert!(s.chars().any(|c| c.is_ascii_lowercase()), "no lower case");
            assert!(s.chars().any(|c| c.is_ascii_uppercase()), "no upper case");
            assert!(s.chars().any(|c| c.is_ascii_digit()), "no digit");
            assert_eq!(s.chars().filter(|c| TROUBLESOME.contains(c)).count(), 3, "three symbols that need escaping");
        }
        let p = generate_every_class(&rule(Charset::Alphanumeric), 6);
        assert!(p.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        let p = generate_every_class(&rule(Charset::Digits), 6);
        assert!(p.expose().chars().all(|c| c.is_ascii_digit()) && p.char_len() == 6);
    }

    #[test]
    fn plain_passwords_are_letters_and_digits_where_allowed() {
        let p = generate(&rule(Charset::PrintableAscii), 64);
        assert!(p.expose().chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
