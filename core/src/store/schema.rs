//! The SQL schema and its migrations. `PRAGMA user_version` holds the version.

use rusqlite::Connection;

use super::StoreError;

/// Migrations in order; entry `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // v1: the queue, the visitor id, the history of visitor choices.
    // `seq` is AUTOINCREMENT so a number is never reused: an upload that
    // acknowledges rows by seq range can never delete rows queued later.
    r#"
    CREATE TABLE hits (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id      TEXT    NOT NULL,
        visitor_id    TEXT    NOT NULL,
        mode          TEXT    NOT NULL,
        tracked_at_ms INTEGER NOT NULL,
        body          TEXT    NOT NULL
    );
    CREATE TABLE visitor (
        slot          INTEGER PRIMARY KEY CHECK (slot = 1),
        visitor_id    TEXT    NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE TABLE mode_history (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        mode     TEXT    NOT NULL,
        since_ms INTEGER NOT NULL,
        reason   TEXT    NOT NULL
    );
    "#,
    // v2: the purposes answered (consent by purpose).
    r#"
    CREATE TABLE purpose_choice (
        purpose  TEXT    PRIMARY KEY,
        mode     TEXT    NOT NULL,
        since_ms INTEGER NOT NULL
    );
    "#,
    // v3: every row bound to its site; dry-run rows marked; every app-scoped
    // id that queued hits may still leave with (the egress gate sends a hit
    // only while its id is here, valid, and of this site); the store's own
    // site. Rows and ids of a v2 store get their site ('' until then) when
    // a site first opens it (`store::bind_site`).
    r#"
    ALTER TABLE hits ADD COLUMN site TEXT NOT NULL DEFAULT '';
    ALTER TABLE hits ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE identity (
        visitor_id    TEXT    PRIMARY KEY,
        site          TEXT    NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO identity (visitor_id, site, created_at_ms, expires_at_ms)
        SELECT visitor_id, '', created_at_ms, expires_at_ms FROM visitor;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]. A database written by a newer
/// build is left untouched and reported.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found, supported: SCHEMA_VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
