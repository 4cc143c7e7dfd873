//! Emulated lab (work in progress).
