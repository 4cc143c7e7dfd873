//! Step definitions: one small function per sentence, no protocol code. Each module covers one part
//! of the article.

pub mod app;
pub mod local;
pub mod rig;
pub mod standards;

pub use crate::password::generate as generate_password;
