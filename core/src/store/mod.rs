//! The on-device store: one SQLite file (WAL) holding the hit queue, the
//! visitor id and the history of visitor choices.
//!
//! Durability: `synchronous=FULL` in WAL mode, so a committed transaction
//! survives a process kill and a power cut. The writer commits in batches so
//! the cost of the sync is shared by many hits.
//!
//! Erasure: `secure_delete` zeroes deleted rows and freed pages, and the
//! writer checkpoints the WAL (truncating it) after every purge, so an id
//! that was deleted leaves no byte behind in the database, its WAL or its
//! free pages. Files are created `0600` in a `0700` directory.

pub(crate) mod choice;
mod db;
pub(crate) mod lock;

pub mod schema;
pub(crate) mod sqlite_version;

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::fs::OpenOptions;

use rusqlite::{Connection, ErrorCode, OpenFlags};

pub use crate::error::StoreError;
pub use db::{PendingRow, StoredState};

/// Name of the database file inside the configured storage directory.
pub const DB_FILE_NAME: &str = "mesure.sqlite3";

/// How long a connection waits for the other one (writer or uploader).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the database of `dir`, once the linked SQLite is one the
/// SDK runs on (see `sqlite_version`). Every connection is opened here.
fn connect(dir: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    sqlite_version::check(rusqlite::version_number())?;
    Ok(Connection::open_with_flags(db_path(dir), flags)?)
}

/// The busy timeout, through the pragma: rusqlite's `Connection::busy_timeout`
/// also calls `sqlite3_set_clientdata`, new in SQLite 3.44 (iOS 18 still
/// ships 3.43): with the system's SQLite the library would not load there.
fn set_busy_timeout(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT.as_millis() as i64)?;
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt(e.to_string()),
            Some(ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// The database path for a storage directory.
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE_NAME)
}

/// Options that create a file only the app can read and write (`0600`).
pub(crate) fn private_file_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Replaces `dir/name` with `bytes` as one step a crash cannot split: a
/// private temporary file written and synced, renamed over the old one, and
/// the directory synced so that the rename itself survives a power cut.
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = private_file_options().write(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Creates the storage directory (and its parents) if missing; the ones it
/// creates are `0700`, and an existing storage directory that others may
/// read or enter (an older version's, or one the app made) is narrowed to
/// `0700`.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// The files of a store, as this module names them: the database, SQLite's
/// companions, and the choice file.
pub(crate) fn store_files() -> [String; 5] {
    [
        DB_FILE_NAME.to_owned(),
        format!("{DB_FILE_NAME}-wal"),
        format!("{DB_FILE_NAME}-shm"),
        format!("{DB_FILE_NAME}-journal"),
        choice::CHOICE_FILE_NAME.to_owned(),
    ]
}

/// Whether `dir` holds a store (a database or a choice file).
pub(crate) fn has_store(dir: &Path) -> bool {
    dir.join(DB_FILE_NAME).exists() || dir.join(choice::CHOICE_FILE_NAME).exists()
}

/// The site a store in `dir` belongs to, from its database (version 3 and
/// later) or its choice file; `None` when neither records one.
pub(crate) fn site_of(dir: &Path) -> Result<Option<String>, StoreError> {
    if dir.join(DB_FILE_NAME).exists() {
        let conn = connect(dir, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        set_busy_timeout(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version >= 3 {
            if let Some(site) = site(&conn)? {
                return Ok(Some(site));
            }
        }
    }
    Ok(choice::read(dir)?.and_then(|(_, site)| site))
}

/// Creates the database file `0600` before SQLite opens it (SQLite gives its
/// WAL and shared-memory files the database file's permissions), and
/// narrows the permissions of files an older version left wider.
fn prepare_private_files(dir: &Path) -> Result<(), StoreError> {
    let db = db_path(dir);
    drop(private_file_options().write(true).open(&db)?);
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        match std::fs::metadata(&p) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    set_busy_timeout(conn)?;
    // Deleted rows and freed pages are overwritten with zeros.
    conn.pragma_update(None, "secure_delete", "ON")?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!("journal_mode is {mode}, WAL refused")));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Keep the WAL file from growing past 4 MiB once checkpointed.
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)?;
    Ok(())
}

/// Opens (creating the directory and file if needed) and migrates the database.
pub fn open(dir: &Path) -> Result<Connection, StoreError> {
    create_private_dir(dir)?;
    prepare_private_files(dir)?;
    let mut conn = connect(dir, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    configure(&conn)?;
    schema::migrate(&mut conn)?;
    // Touch every table once so a damaged schema shows now, not mid-session.
    conn.query_row(
        "SELECT (SELECT count(*) FROM visitor) + (SELECT count(*) FROM mode_history) \
         + (SELECT count(*) FROM (SELECT seq FROM hits ORDER BY seq LIMIT 1))",
        [],
        |r| r.get::<_, i64>(0),
    )?;
    Ok(conn)
}

/// Opens the database, recreating it when it is unreadable. Returns the
/// connection and, when it was recreated, why.
pub fn open_or_recreate(dir: &Path) -> Result<(Connection, Option<String>), StoreError> {
    match open(dir) {
        Ok(c) => Ok((c, None)),
        Err(StoreError::Corrupt(why)) => {
            remove_files(dir)?;
            Ok((open(dir)?, Some(why)))
        }
        Err(e) => Err(e),
    }
}

/// Deletes the database and its WAL and shared-memory files.
pub fn remove_files(dir: &Path) -> Result<(), StoreError> {
    let base = db_path(dir);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = base.clone().into_os_string();
        p.push(suffix);
        remove_if_present(Path::new(&p))?;
    }
    Ok(())
}

/// Deletes a file of the store; one already gone is no error. True when
/// there was one.
pub(crate) fn remove_if_present(path: &Path) -> Result<bool, StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A second connection for the uploader: no migration, it only reads and
/// deletes acknowledged rows.
pub fn open_reader(dir: &Path) -> Result<Connection, StoreError> {
    let conn = connect(dir, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    configure(&conn)?;
    // This connection only deletes acknowledged hits. Those deletes need not
    // survive a power cut (they are still atomic and survive a crash): at
    // worst a hit is sent again and the collector drops it by its event_id.
    // Not syncing each one keeps uploads from waiting on the disk.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v != schema::SCHEMA_VERSION {
        return Err(StoreError::Unavailable(format!("schema version {v} not ready")));
    }
    Ok(conn)
}

pub use db::*;
