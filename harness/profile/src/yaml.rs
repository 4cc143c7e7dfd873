//! One YAML loader for every fixture and bench file: errors say which file, which line and which key.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A fixture or bench file that could not be read or did not make sense.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {file}: {source}")]
    Read { file: PathBuf, source: std::io::Error },
    #[error("{file}:{line}: key `{key}`: {message}")]
    Invalid { file: PathBuf, line: usize, key: String, message: String },
}

impl FixtureError {
    /// An error found after parsing (a value out of range, a rule between keys), located by
    /// [`locate`]; a key whose section is not found is looked for on any line.
    pub fn semantic(file: &Path, text: &str, key: &str, message: impl Into<String>) -> Self {
        let leaf = key.rsplit('.').next().unwrap_or(key);
        let line = match locate(text, key) {
            0 => text
                .lines()
                .position(|l| l.trim_start().trim_start_matches("- ").starts_with(&format!("{leaf}:")))
                .map_or(0, |i| i + 1),
            n => n,
        };
        FixtureError::Invalid { file: file.to_owned(), line, key: key.to_owned(), message: message.into() }
    }
}

/// The line (1-based) of `key` (a dotted path such as `power.host`) in `text`: the section's line,
/// then the first line from there that holds the leaf key (flow `{ a: 1 }` or block style).
pub fn locate(text: &str, key: &str) -> usize {
    let mut parts = key.split('.');
    let section = parts.next().unwrap_or(key);
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with(&format!("{section}:"))) else {
        return 0;
    };
    if leaf == section {
        return start + 1;
    }
    let has_leaf = |l: &str| {
        let code = l.split(" #").next().unwrap_or(l);
        code.match_indices(&format!("{leaf}:"))
            .any(|(i, _)| i == 0 || matches!(code.as_bytes()[i - 1], b' ' | b'{' | b',' | b'\t'))
    };
    for (i, l) in lines.iter().enumerate().skip(start) {
        if i > start && !l.starts_with([' ', '\t']) && !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            break;
        }
        if has_leaf(l) {
            return i + 1;
        }
    }
    start + 1
}

/// Parse `text` (named `file` in errors) into `T`, naming the key path and line of the first problem.
pub fn parse_yaml<T: DeserializeOwned>(file: impl AsRef<Path>, text: &str) -> Result<T, FixtureError> {
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let line = inner.location().map_or(0, |l| l.line());
        // yaml_serde appends " at line L column C"; the line is already in our prefix.
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        FixtureError::Invalid { file: file.as_ref().to_owned(), line, key, message }
    })
}

/// Read and parse a YAML file.
pub fn load_yaml<T: DeserializeOwned>(file: impl AsRef<Path>) -> Result<T, FixtureError> {
    let file = file.as_ref();
    let text = std::fs::read_to_string(file).map_err(|source| FixtureError::Read { file: file.to_owned(), source })?;
    parse_yaml(file, &text)
}
