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
    /// An error found after parsing (a value out of range), located by searching for the key's line.
    pub fn semantic(file: &Path, text: &str, key: &str, message: impl Into<String>) -> Self {
        let leaf = key.rsplit('.').next().unwrap_or(key);
        let line = text
            .lines()
            .position(|l| l.trim_start().trim_start_matches("- ").starts_with(&format!("{leaf}:")))
            .map_or(0, |i| i + 1);
        FixtureError::Invalid { file: file.to_owned(), line, key: key.to_owned(), message: message.into() }
    }
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
