//! Device clients (work in progress).
