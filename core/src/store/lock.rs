//! One SDK per storage directory, across threads and processes.
//!
//! Android runs `Application.onCreate` in every process of a multi-process
//! app. Two SDKs on one directory would each keep the visitor's choice and
//! id in memory (one opts out, the other keeps sending the id) and upload the
//! same rows twice. An exclusive advisory lock on `mesure.lock` (`flock` on
//! Linux, Android, macOS and iOS) makes the second one fail with a typed
//! error. The kernel releases the lock when the file is closed or the process
//! dies, so a crash never leaves the directory locked.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

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

/// The storage directories this process's SDKs have claimed.
fn claimed() -> &'static Mutex<HashSet<PathBuf>> {
    static CLAIMED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    CLAIMED.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A storage directory claimed in this process, on the caller's thread and
/// without I/O, when `start` is called: of two starts on one directory the
/// second is the one refused, in call order, before the storage thread
/// takes the file lock (which also refuses other processes). Released
/// with the SDK's storage.
#[derive(Debug)]
pub(crate) struct DirClaim {
    dir: PathBuf,
}

impl DirClaim {
    /// Claims `dir` (made absolute, lexically); `InUse` if an SDK of this
    /// process holds it.
    pub fn take(dir: &Path) -> Result<DirClaim, LockError> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut claimed = claimed().lock().unwrap_or_else(|p| p.into_inner());
        if !claimed.insert(dir.clone()) {
            return Err(LockError::InUse);
        }
        Ok(DirClaim { dir })
    }
}

impl Drop for DirClaim {
    fn drop(&mut self) {
        claimed().lock().unwrap_or_else(|p| p.into_inner()).remove(&self.dir);
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

    #[test]
    fn a_claim_refuses_the_second_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirClaim::take(dir.path()).unwrap();
        assert!(matches!(DirClaim::take(dir.path()), Err(LockError::InUse)));
        drop(first);
        assert!(DirClaim::take(dir.path()).is_ok());
    }
}
