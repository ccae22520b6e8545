//! Queries. Each takes a connection or a transaction and does one thing.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::clock::EpochMillis;
use crate::hit::QueuedHit;
use crate::mode::{ModeChangeReason, ModeRecord, PurposeMode, VisitorMode};
use crate::purpose::PurposeChoice;
use crate::visitor_id::VisitorId;

/// Mode history rows kept (older ones are removed).
pub const MODE_HISTORY_KEPT: i64 = 100;

/// A queued hit as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// Its position in the queue.
    pub seq: i64,
    /// The hit's `event_id`.
    pub event_id: String,
    /// The visitor id it leaves with (`idclient`).
    pub visitor_id: String,
    /// The wire name of the mode it was tracked in.
    pub mode: String,
    /// When it was tracked.
    pub tracked_at_ms: EpochMillis,
    /// The event in wire format, `{"name":..,"data":{..}}`.
    pub body: String,
    /// The site it was queued for.
    pub site: String,
    /// Tracked in a dry run: it may never reach a collector.
    pub dry_run: bool,
}

/// An app-scoped id that queued hits may still leave with, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdentity {
    /// The site it belongs to.
    pub site: String,
    /// When it was created.
    pub created_at_ms: EpochMillis,
    /// When it expires (13 calendar months after its creation).
    pub expires_at_ms: EpochMillis,
}

/// The visitor's choice and id as found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredState {
    pub mode: Option<ModeRecord>,
    pub purposes: BTreeMap<String, PurposeChoice>,
    pub visitor: Option<VisitorId>,
}

/// The insert statement, prepared once per transaction by the writer.
pub fn hit_inserter(conn: &Connection) -> Result<rusqlite::CachedStatement<'_>, StoreError> {
    Ok(conn.prepare_cached("INSERT INTO hits (event_id, visitor_id, mode, tracked_at_ms, body, site, dry_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?)
}

/// Queues `hit` for `site` (a dry run's hits marked as such).
pub fn insert_hit(st: &mut rusqlite::CachedStatement<'_>, hit: &QueuedHit, site: &str, dry_run: bool) -> Result<(), StoreError> {
    st.execute(params![hit.event_id, &*hit.visitor_id, &*hit.mode, hit.tracked_at_ms, hit.body, site, dry_run])?;
    Ok(())
}

/// Records the current id, and the id among those hits may leave with.
pub fn save_visitor(conn: &Connection, v: &VisitorId, site: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO visitor (slot, visitor_id, created_at_ms, expires_at_ms) VALUES (1, ?1, ?2, ?3)",
        params![v.id, v.created_at_ms, v.expires_at_ms],
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO identity (visitor_id, site, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![v.id, site, v.created_at_ms, v.expires_at_ms],
    )?;
    Ok(())
}

/// Retires the current id: the next hit gets a new one; hits queued with
/// it may still leave (its identity stays until they are gone).
pub fn delete_visitor(conn: &Connection) -> Result<(), StoreError> {
    conn.execute("DELETE FROM visitor", [])?;
    Ok(())
}

/// The rows of the modes without consent that carry no id (their fixed
/// visitor ids identify no one).
const ANONYMOUS_MODES: &str = "('optout', 'no-consent')";

/// A withdrawal (leaving opt-in or no-storage for a mode without consent):
/// deletes every hit queued with consent, the ids they carry and the
/// current id. Returns the hits deleted.
pub fn withdraw_consent(conn: &Connection) -> Result<u64, StoreError> {
    conn.execute(
        "DELETE FROM identity WHERE visitor_id IN (SELECT visitor_id FROM hits WHERE mode = 'optin') \
         OR visitor_id IN (SELECT visitor_id FROM visitor)",
        [],
    )?;
    conn.execute("DELETE FROM visitor", [])?;
    Ok(conn.execute("DELETE FROM hits WHERE mode IN ('optin', 'no-storage')", [])? as u64)
}

/// Deletes every app-scoped id and every hit that carries one (entering
/// no-storage: nothing identifying stays on the device). Returns the hits deleted.
pub fn purge_identified_hits(conn: &Connection) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM visitor", [])?;
    conn.execute("DELETE FROM identity", [])?;
    Ok(conn.execute(&format!("DELETE FROM hits WHERE mode NOT IN {ANONYMOUS_MODES} AND mode <> 'no-storage'"), [])? as u64)
}

/// Deletes every id and every hit but the anonymous ones (entering opt-out
/// or no-consent). Returns the hits deleted.
pub fn purge_all_but_anonymous(conn: &Connection) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM visitor", [])?;
    conn.execute("DELETE FROM identity", [])?;
    Ok(conn.execute(&format!("DELETE FROM hits WHERE mode NOT IN {ANONYMOUS_MODES}"), [])? as u64)
}

/// The identity of an app-scoped id, if hits may still leave with it.
pub fn identity(conn: &Connection, visitor_id: &str) -> Result<Option<StoredIdentity>, StoreError> {
    let mut st = conn.prepare_cached("SELECT site, created_at_ms, expires_at_ms FROM identity WHERE visitor_id = ?1")?;
    Ok(st.query_row([visitor_id], |r| Ok(StoredIdentity { site: r.get(0)?, created_at_ms: r.get(1)?, expires_at_ms: r.get(2)? })).optional()?)
}

/// Every app-scoped id the store holds (current, and those hits still carry).
pub fn visitor_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare_cached("SELECT visitor_id FROM identity UNION SELECT visitor_id FROM visitor")?;
    let ids = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// Deletes the identity of `visitor_id` once no hit carries it and it is
/// not the current id.
pub fn drop_unused_identity(conn: &Connection, visitor_id: &str) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached(
        "DELETE FROM identity WHERE visitor_id = ?1 \
         AND NOT EXISTS (SELECT 1 FROM visitor WHERE visitor_id = ?1) \
         AND NOT EXISTS (SELECT 1 FROM hits WHERE visitor_id = ?1)",
    )?;
    st.execute([visitor_id])?;
    Ok(())
}

/// Deletes every queued hit carrying `visitor_id`; returns how many.
pub fn delete_hits_of(conn: &Connection, visitor_id: &str) -> Result<u64, StoreError> {
    let mut st = conn.prepare_cached("DELETE FROM hits WHERE visitor_id = ?1")?;
    Ok(st.execute([visitor_id])? as u64)
}

/// Deletes the rows of a dry run (at the start of a real one).
pub fn delete_dry_run_hits(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.execute("DELETE FROM hits WHERE dry_run <> 0", [])? as u64)
}

/// The site the store belongs to, if one has opened it.
pub fn site(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = 'site'", [], |r| r.get(0)).optional()?)
}

/// Binds the store to `site`: its rows and ids from before sites were
/// recorded (a version-2 store, one site per directory then) become the
/// site's. The caller checked that no other site holds the store.
pub fn bind_site(conn: &Connection, site: &str) -> Result<(), StoreError> {
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('site', ?1)", [site])?;
    conn.execute("UPDATE hits SET site = ?1 WHERE site = ''", [site])?;
    conn.execute("UPDATE identity SET site = ?1 WHERE site = ''", [site])?;
    Ok(())
}

pub fn push_mode(conn: &Connection, r: &ModeRecord) -> Result<(), StoreError> {
    conn.execute("INSERT INTO mode_history (mode, since_ms, reason) VALUES (?1, ?2, ?3)", params![r.mode.wire_name(), r.since_ms, r.reason.code()])?;
    conn.execute("DELETE FROM mode_history WHERE seq <= (SELECT max(seq) FROM mode_history) - ?1", params![MODE_HISTORY_KEPT])?;
    Ok(())
}

/// Replaces the purposes answered.
pub fn replace_purposes(conn: &Connection, purposes: &BTreeMap<String, PurposeChoice>) -> Result<(), StoreError> {
    conn.execute("DELETE FROM purpose_choice", [])?;
    let mut st = conn.prepare_cached("INSERT INTO purpose_choice (purpose, mode, since_ms) VALUES (?1, ?2, ?3)")?;
    for (p, c) in purposes {
        st.execute(params![p, c.mode.wire_name(), c.since_ms])?;
    }
    Ok(())
}

pub fn purposes(conn: &Connection) -> Result<BTreeMap<String, PurposeChoice>, StoreError> {
    let mut st = conn.prepare("SELECT purpose, mode, since_ms FROM purpose_choice")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().filter_map(|(p, mode, since_ms)| PurposeMode::parse(&mode).map(|mode| (p, PurposeChoice { mode, since_ms }))).collect())
}

pub fn clear_modes(conn: &Connection) -> Result<(), StoreError> {
    conn.execute("DELETE FROM mode_history", [])?;
    Ok(())
}

fn mode_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ModeRecord> {
    let mode: String = r.get(0)?;
    let reason: String = r.get(2)?;
    Ok(ModeRecord {
        mode: VisitorMode::parse(&mode),
        since_ms: r.get(1)?,
        reason: ModeChangeReason::parse(&reason).unwrap_or(ModeChangeReason::SetByApp),
    })
}

pub fn load_state(conn: &Connection) -> Result<StoredState, StoreError> {
    let mode = conn.query_row("SELECT mode, since_ms, reason FROM mode_history ORDER BY seq DESC LIMIT 1", [], mode_row).optional()?;
    let visitor = conn
        .query_row("SELECT visitor_id, created_at_ms, expires_at_ms FROM visitor WHERE slot = 1", [], |r| {
            Ok(VisitorId { id: r.get(0)?, created_at_ms: r.get(1)?, expires_at_ms: r.get(2)? })
        })
        .optional()?;
    Ok(StoredState { mode, purposes: purposes(conn)?, visitor })
}

pub fn mode_history(conn: &Connection) -> Result<Vec<ModeRecord>, StoreError> {
    let mut st = conn.prepare("SELECT mode, since_ms, reason FROM mode_history ORDER BY seq")?;
    let rows = st.query_map([], mode_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The oldest queued hits of a real run (`dry_run` false) or of a dry
/// run, in the order they were tracked: at most `limit` rows, and no more
/// than it takes to pass `max_bytes` of bodies (at least one row), so that
/// reading a batch never holds more than about one request's worth of
/// memory, whatever the batch size.
pub fn oldest_hits(conn: &Connection, dry_run: bool, limit: u32, max_bytes: usize) -> Result<Vec<PendingRow>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, event_id, visitor_id, mode, tracked_at_ms, body, site, dry_run FROM hits \
         WHERE dry_run = ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = st.query(params![dry_run, limit])?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(r) = rows.next()? {
        let row = pending_row(r)?;
        bytes = bytes.saturating_add(row.body.len());
        out.push(row);
        if bytes > max_bytes {
            break;
        }
    }
    Ok(out)
}

/// A row of `SELECT seq, event_id, visitor_id, mode, tracked_at_ms, body,
/// site, dry_run FROM hits`.
fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingRow> {
    Ok(PendingRow {
        seq: r.get(0)?,
        event_id: r.get(1)?,
        visitor_id: r.get(2)?,
        mode: r.get(3)?,
        tracked_at_ms: r.get(4)?,
        body: r.get(5)?,
        site: r.get(6)?,
        dry_run: r.get(7)?,
    })
}

/// Every queued hit, oldest first (for the export of local data).
pub fn queued_hits(conn: &Connection) -> Result<Vec<PendingRow>, StoreError> {
    let mut st = conn.prepare("SELECT seq, event_id, visitor_id, mode, tracked_at_ms, body, site, dry_run FROM hits ORDER BY seq")?;
    let rows = st.query_map([], pending_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Which of the hits with `first <= seq <= last` are still queued (a purge
/// may have deleted some while a batch was in flight).
pub fn queued_seqs(conn: &Connection, first: i64, last: i64) -> Result<Vec<i64>, StoreError> {
    let mut st = conn.prepare_cached("SELECT seq FROM hits WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")?;
    let rows = st.query_map([first, last], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(rows)
}

/// Copies the WAL into the database and truncates it to zero bytes, so the
/// page images it held (deleted rows included) are gone. False when a reader
/// kept it from completing (the caller tries again later).
pub fn checkpoint_truncate(conn: &Connection) -> Result<bool, StoreError> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// Deletes the hits with `first <= seq <= last` (an acknowledged batch).
pub fn delete_range(conn: &Connection, first: i64, last: i64) -> Result<u64, StoreError> {
    let mut st = conn.prepare_cached("DELETE FROM hits WHERE seq BETWEEN ?1 AND ?2")?;
    Ok(st.execute([first, last])? as u64)
}

/// Deletes the hits at these positions, in one transaction (one wait for
/// the write lock, however many), and returns the positions it deleted:
/// a purge that committed first took the others, and counted them.
pub fn delete_seqs(conn: &Connection, seqs: &[i64]) -> Result<Vec<i64>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut deleted = Vec::with_capacity(seqs.len());
    {
        let mut st = tx.prepare_cached("DELETE FROM hits WHERE seq = ?1")?;
        for &seq in seqs {
            if st.execute([seq])? > 0 {
                deleted.push(seq);
            }
        }
    }
    tx.commit()?;
    Ok(deleted)
}

/// Keeps at most `max` hits, dropping the oldest. Cheap when under the bound:
/// the seq span bounds the count from above and costs two index lookups.
pub fn trim_to_count(conn: &Connection, max: u32) -> Result<u64, StoreError> {
    // Two sub-queries: SQLite answers a lone min() or max() from the rowid
    // b-tree in O(log n), but `max(seq) - min(seq)` in one query scans the table.
    let span: Option<i64> = conn.query_row("SELECT (SELECT max(seq) FROM hits) - (SELECT min(seq) FROM hits) + 1", [], |r| r.get(0))?;
    if span.unwrap_or(0) <= i64::from(max) {
        return Ok(0);
    }
    let n = conn.execute("DELETE FROM hits WHERE seq < (SELECT seq FROM hits ORDER BY seq DESC LIMIT 1 OFFSET ?1)", [max.saturating_sub(1)])?;
    Ok(n as u64)
}

/// Drops hits tracked before `cutoff`, scanning from the oldest and stopping
/// at the first younger one.
pub fn trim_older_than(conn: &Connection, cutoff: EpochMillis) -> Result<u64, StoreError> {
    let first_young: Option<i64> =
        conn.query_row("SELECT seq FROM hits WHERE tracked_at_ms >= ?1 ORDER BY seq LIMIT 1", [cutoff], |r| r.get(0)).optional()?;
    let n = match first_young {
        Some(seq) => conn.execute("DELETE FROM hits WHERE seq < ?1", [seq])?,
        None => conn.execute("DELETE FROM hits", [])?,
    };
    Ok(n as u64)
}

/// The last queue position used (`None` for an empty queue).
pub fn last_seq(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row("SELECT max(seq) FROM hits", [], |r| r.get(0))?)
}

/// The hits queued by a real run (`dry_run` false) or a dry run.
pub fn count_hits(conn: &Connection, dry_run: bool) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM hits WHERE dry_run = ?1", [dry_run], |r| r.get(0))?;
    Ok(n as u64)
}

/// Deletes the queue, the visitor ids and the history of choices.
pub fn delete_all(conn: &Connection) -> Result<u64, StoreError> {
    let n = conn.execute("DELETE FROM hits", [])?;
    conn.execute("DELETE FROM visitor", [])?;
    conn.execute("DELETE FROM identity", [])?;
    conn.execute("DELETE FROM mode_history", [])?;
    conn.execute("DELETE FROM purpose_choice", [])?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(bodies: &[usize]) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = super::super::open(dir.path()).expect("store");
        for (i, len) in bodies.iter().enumerate() {
            conn.execute(
                "INSERT INTO hits (event_id, visitor_id, mode, tracked_at_ms, body) VALUES (?1, 'v', 'optin', 0, ?2)",
                params![format!("e{i}"), "x".repeat(*len)],
            )
            .expect("insert");
        }
        (dir, conn)
    }

    #[test]
    fn reading_a_batch_stops_past_the_byte_bound() {
        // 500 hits of 60 KB would be 30 MB in memory; the read stops once past 1 MB.
        let (_dir, conn) = store_with(&[60_000; 40]);
        let rows = oldest_hits(&conn, false, 500, 1_000_000).expect("read");
        assert_eq!(rows.len(), 17, "16 rows make 960 000 bytes, the 17th passes the bound");
        assert_eq!(rows.first().map(|r| r.event_id.as_str()), Some("e0"), "oldest first");
        // Small hits: the count bound decides.
        let (_dir, conn) = store_with(&[100; 40]);
        assert_eq!(oldest_hits(&conn, false, 25, 1_000_000).expect("read").len(), 25);
        // One hit larger than the bound is still read: it must be able to leave.
        let (_dir, conn) = store_with(&[2_000_000, 10]);
        assert_eq!(oldest_hits(&conn, false, 25, 1_000_000).expect("read").len(), 1);
    }
}
