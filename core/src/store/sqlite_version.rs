//! The oldest SQLite this SDK runs on, checked before every connection.
//!
//! With the platform's SQLite (Apple targets by default, or the
//! `system-sqlite` feature) the library calls whatever the OS ships. It needs
//! SQLite [`MIN_SQLITE_VERSION`] or newer: the newest C function it imports
//! is `sqlite3_error_offset` (3.38.0), which rusqlite calls when a statement
//! does not prepare. `cargo xtask ios-slice` lists the functions the iOS
//! library imports, with the release that brought each, and fails when one
//! is newer than this minimum or not in its table (a rusqlite upgrade).
//!
//! A function missing from the OS's SQLite stops the app in the dynamic
//! loader, before any code runs: the deployment targets (iOS 16, macOS 13)
//! are chosen so that this never happens (iOS 16 ships SQLite 3.39). The
//! check here covers the rest: a SQLite that has the functions but is
//! older than the one the SDK was verified with (a Linux system library, an
//! app that links its own) makes the store fail to open with a
//! [`StoreError::Unavailable`] naming both versions, and the SDK runs from
//! memory as with any store it cannot open.

use crate::error::StoreError;

/// SQLite 3.38.0, encoded as `sqlite3_libversion_number()` encodes it
/// (`X * 1_000_000 + Y * 1000 + Z`).
pub const MIN_SQLITE_VERSION: i32 = 3_038_000;

/// `Ok` when `found` (a `sqlite3_libversion_number()`) is at least
/// [`MIN_SQLITE_VERSION`].
pub fn check(found: i32) -> Result<(), StoreError> {
    if found >= MIN_SQLITE_VERSION {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!("SQLite {} is older than {}, the oldest this SDK runs on", dotted(found), dotted(MIN_SQLITE_VERSION))))
    }
}

/// `3038000` as `3.38.0`.
fn dotted(v: i32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_sqlite_is_a_clear_error_naming_both_versions() {
        // iOS 15's SQLite.
        assert_eq!(check(3_037_000), Err(StoreError::Unavailable("SQLite 3.37.0 is older than 3.38.0, the oldest this SDK runs on".into())));
        assert_eq!(
            check(3_037_002).map_err(|e| e.to_string()),
            Err("storage unavailable: SQLite 3.37.2 is older than 3.38.0, the oldest this SDK runs on".into())
        );
    }

    #[test]
    fn the_minimum_and_newer_pass() {
        assert_eq!(check(MIN_SQLITE_VERSION), Ok(()));
        assert_eq!(check(3_039_005), Ok(()));
        assert_eq!(check(4_000_000), Ok(()));
    }

    #[test]
    fn the_linked_sqlite_passes() {
        assert_eq!(check(rusqlite::version_number()), Ok(()), "SQLite {}", rusqlite::version());
    }
}
