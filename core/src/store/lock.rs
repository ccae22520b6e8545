//! One SDK per storage directory, across threads and processes.
//!
//! Android runs `Application.onCreate` in every process of a multi-process
//! app. Two SDKs on one directory would each keep the visitor's choice and
//! id in memory (one opts out, the other keeps sending the id) and upload the
//! same rows twice. An exclusive advisory lock on `mesure.lock` (`flock` on
//! Linux, Android, macOS and iOS) makes the second one fail with a typed
//! error. The kernel releases the lock when the file is closed or the process
//! dies, so a crash never leaves the directory locked.

use std::fs::{File, TryLockError};
use std::path::Path;

use super::private_file_options;

/// Name of the lock file inside the storage directory.
pub const LOCK_FILE_NAME: &str = "mesure.lock";

/// Why the directory could not be locked.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another SDK (this process or another) holds it.
    InUse,
    /// The lock file could not be opened or locked.
    Io(std::io::Error),
}

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the directory, which must exist.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE_NAME);
        let file = private_file_options().read(true).write(true).open(&path).map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse),
            Err(TryLockError::Error(e)) => Err(LockError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        assert!(matches!(DirLock::acquire(dir.path()), Err(LockError::InUse)));
        assert!(dir.path().join(LOCK_FILE_NAME).exists());
        drop(first);
        assert!(DirLock::acquire(dir.path()).is_ok());
    }
}
