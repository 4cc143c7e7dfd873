//! A write-ahead credential journal: every password change is recorded before it is made and restored at teardown.
