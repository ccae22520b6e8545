//! The Mesure measurements and their same-run baselines.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use mesure_core::testing as store;
use mesure_core::*;
use mesure_test_collector::{Collector, Reply};
use rusqlite::params;

use crate::report::{ms, ratio, us, verdict, Percentiles, Report};

/// ~150 characters: with the SDK's own fields a stored hit is ~360 bytes.
pub const PAYLOAD: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis.";
const BURSTS: usize = 100;
const BURST: usize = 1000;
const INGEST: usize = 200_000;
const UPLOAD: usize = 50_000;
/// The writer's transaction size, used for the floor too.
const FLOOR_TX: usize = 4096;

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn config(dir: &Path, endpoint: &str) -> Config {
    let mut c = Config::new(endpoint, 615_000, dir);
    c.flush_interval_ms = 3_600_000;
    c.queue_max_hits = 2_000_000;
    c
}

/// Opt-in, so the payload property is sent: the heaviest filtering path.
fn sdk(dir: &Path, endpoint: &str) -> Res<Sdk> {
    let sdk = Sdk::builder(config(dir, endpoint)).build().map_err(err)?;
    sdk.set_mode(VisitorMode::OptIn).map_err(err)?;
    Ok(sdk)
}

fn event(i: usize) -> Event {
    Event::screen("home").with("page_chapter1", "news").with("payload", PAYLOAD).with("seq", i as i64)
}

/// No collector listens here: uploads fail fast and stay out of the way.
const NOWHERE: &str = "http://127.0.0.1:9";

fn wait_persisted(sdk: &Sdk, n: u64) {
    while sdk.stats().persisted < n {
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Times `op` in 100 bursts of 1000 calls shared by `threads` threads (all
/// released together), running `between` on this thread after each burst.
/// `prepare` builds each call's input outside the timed section.
fn bursts<T>(threads: usize, prepare: impl Fn(usize) -> T + Sync, op: impl Fn(T) + Sync, between: impl Fn()) -> Percentiles {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, prepare, op) = (&barrier, &prepare, &op);
                s.spawn(move || {
                    let mut samples = Vec::with_capacity(BURSTS * BURST / threads);
                    for b in 0..BURSTS {
                        barrier.wait();
                        for i in 0..BURST / threads {
                            let input = prepare(t * 1_000_000 + b * BURST + i);
                            let t0 = Instant::now();
                            op(input);
                            samples.push(t0.elapsed().as_nanos() as u64);
                        }
                        barrier.wait();
                    }
                    samples
                })
            })
            .collect();
        for _ in 0..BURSTS {
            barrier.wait();
            barrier.wait();
            between();
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().unwrap_or_default());
        }
        Percentiles::of(all)
    })
}

/// Caller-side latency of `track`, waiting for the writer to catch up
/// between bursts so the figure is the call itself, not back-pressure.
fn track_latency(threads: usize) -> Res<(Percentiles, u64)> {
    let dir = tempfile::tempdir().map_err(err)?;
    let sdk = sdk(dir.path(), NOWHERE)?;
    for i in 0..2000 {
        let _ = sdk.track(event(i));
    }
    wait_persisted(&sdk, 2000);
    let refused = AtomicU64::new(0);
    let p = bursts(
        threads,
        event,
        |e| {
            if sdk.track(e).is_err() {
                refused.fetch_add(1, Ordering::Relaxed);
            }
        },
        || wait_persisted(&sdk, sdk.stats().accepted),
    );
    sdk.shutdown().map_err(err)?;
    Ok((p, refused.load(Ordering::Relaxed)))
}

fn exempt_event(i: usize) -> Event {
    Event::screen("home")
        .with("page_chapter1", "news")
        .with("page_chapter2", format!("football {}", i % 10))
        .with("previous_page", "article 1234 > comments")
}

/// `track` in exempt mode (p50, p99), the scrubbing of that event's four
/// values, of one long text, and the egress gate's check of one stored hit,
/// each in nanoseconds.
fn privacy_cost() -> Res<(Percentiles, f64, f64, f64)> {
    use mesure_core::testing::{scrub, GateProbe, TextKind};
    let dir = tempfile::tempdir().map_err(err)?;
    let sdk = Sdk::builder(config(dir.path(), NOWHERE)).build().map_err(err)?;
    for i in 0..2000 {
        let _ = sdk.track(exempt_event(i));
    }
    wait_persisted(&sdk, 2000);
    let p = bursts(1, exempt_event, |e| drop(sdk.track(e)), || wait_persisted(&sdk, sdk.stats().accepted));

    let values = ["home", "news", "football 7", "article 1234 > comments"];
    let rounds = 200_000;
    let t0 = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for v in values {
            found += usize::from(scrub(std::hint::black_box(v), TextKind::Free).is_some());
        }
    }
    let scrub_ns = t0.elapsed().as_nanos() as f64 / rounds as f64;
    let long = "lorem ipsum dolor sit amet 2026-12-02 ".repeat(27);
    let long = &long[..1000];
    let t0 = Instant::now();
    for _ in 0..20_000 {
        found += usize::from(scrub(std::hint::black_box(long), TextKind::Free).is_some());
    }
    let scrub_long_ns = t0.elapsed().as_nanos() as f64 / 20_000.0;
    if found != 0 {
        return Err(format!("the benchmark's values are clean, yet {found} were masked"));
    }

    let stored = sdk.export_local_data().map_err(err)?.pending_hits;
    sdk.shutdown().map_err(err)?;
    let now = stored.first().map(|h| h.tracked_at_ms).ok_or("no stored hit")?;
    let probe = GateProbe::new(config(dir.path(), NOWHERE), VisitorMode::Exempt, now);
    let t0 = Instant::now();
    let mut passed = 0usize;
    for _ in 0..10 {
        for h in &stored {
            passed += usize::from(probe.passes(&h.mode, &h.visitor_id, &h.event_id, &h.body, now));
        }
    }
    let gate_ns = t0.elapsed().as_nanos() as f64 / (10 * stored.len()) as f64;
    if passed != 10 * stored.len() {
        return Err(format!("the egress gate held back {} of {} clean hits", 10 * stored.len() - passed, 10 * stored.len()));
    }
    Ok((p, scrub_ns, scrub_long_ns, gate_ns))
}

/// Baseline: the bare hand-off of a boxed event to another thread (an
/// `mpsc` send to a consumer that is woken for it), the cheapest thing
/// `track` could possibly do, with the same threads and bursts.
fn handoff_latency(threads: usize) -> Percentiles {
    let (tx, rx) = std::sync::mpsc::channel::<Box<Event>>();
    let drain = std::thread::spawn(move || rx.into_iter().count());
    let p = bursts(
        threads,
        |i| Box::new(event(i)),
        |e| {
            let _ = tx.send(e);
        },
        || std::thread::sleep(Duration::from_millis(2)),
    );
    drop(tx);
    let _ = drain.join();
    p
}

/// Baseline for the machine itself: a call that only spins for `spin_ns`
/// (no lock, no allocation), timed the same way with the same threads. Its
/// tail is what the scheduler and the hypervisor add to any call that long.
fn spin_latency(threads: usize, spin_ns: u64) -> Percentiles {
    bursts(
        threads,
        |_| Instant::now(),
        |t0| {
            while (t0.elapsed().as_nanos() as u64) < spin_ns {
                std::hint::spin_loop();
            }
        },
        || std::thread::sleep(Duration::from_millis(2)),
    )
}

/// The CPU time this process has used, every thread counted (user and
/// system, `/proc/self/stat`, in the kernel's 10 ms ticks).
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    let fields: Vec<u64> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect()).unwrap_or_default();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

/// Hits per second from the first `track` to the last row committed, the
/// average stored hit, and the CPU time per hit of every thread of the
/// process (the caller's and the SDK's).
fn ingest() -> Res<(f64, f64, Duration)> {
    let dir = tempfile::tempdir().map_err(err)?;
    let sdk = sdk(dir.path(), NOWHERE)?;
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    for i in 0..INGEST {
        loop {
            match sdk.track(event(i)) {
                Ok(_) => break,
                Err(TrackError::QueueFull) => std::thread::yield_now(),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    wait_persisted(&sdk, INGEST as u64);
    let elapsed = t0.elapsed();
    let cpu = process_cpu().saturating_sub(cpu0) / INGEST as u32;
    sdk.shutdown().map_err(err)?;
    let db = rusqlite::Connection::open(store::db_path(dir.path())).map_err(err)?;
    let avg: f64 = db.query_row("SELECT avg(length(body)) FROM hits", [], |r| r.get(0)).map_err(err)?;
    Ok((INGEST as f64 / elapsed.as_secs_f64(), avg, cpu))
}

/// The privacy work's cost alone (for quick comparisons).
pub fn privacy_only() -> Res<()> {
    let (p, scrub_ns, long_ns, gate_ns) = privacy_cost()?;
    println!(
        "exempt track p50 {} p99 {}; scrub 4 values {scrub_ns:.0} ns ({}); 1000 chars {long_ns:.0} ns; gate per hit {gate_ns:.0} ns ({})",
        us(p.p50),
        us(p.p99),
        ratio(scrub_ns, p.p50 as f64),
        ratio(gate_ns, p.p50 as f64)
    );
    Ok(())
}

/// `track` latency alone, with its spin baseline (for quick comparisons).
pub fn latency_only() -> Res<()> {
    let (one, _) = track_latency(1)?;
    let (four, _) = track_latency(4)?;
    let spin = spin_latency(1, one.p50);
    for (name, p) in [("mesure 1 thread", one), ("mesure 4 threads", four), ("spin of mesure's p50", spin)] {
        println!("{name:<22} p50 {} p99 {} p99.9 {}", us(p.p50), us(p.p99), us(p.p999));
    }
    Ok(())
}

/// Ingest alone, for profiling (`perf record mesure-bench ingest`).
/// `mesure-bench upload`: the upload figures alone.
pub fn upload_only() -> Res<()> {
    let (rate, floor, requests) = upload()?;
    println!("{rate:.0} hits/s, floor {floor:.0} hits/s, ratio {:.2}, {requests} requests", rate / floor);
    for interval in [mesure_core::DEFAULT_FLUSH_INTERVAL_MS, 30_000] {
        let (requests, wakeups, hits) = battery(interval)?;
        println!("interval {} s: {requests} requests for {hits} hits, {wakeups} wake-ups in 10 min", interval / 1000);
    }
    Ok(())
}

pub fn ingest_only() -> Res<()> {
    let (rate, avg, cpu) = ingest()?;
    println!("{rate:.0} hits/s, {avg:.0} bytes per hit, {:.2} µs CPU per hit", cpu.as_nanos() as f64 / 1000.0);
    Ok(())
}

/// The rows the SDK writes for `n` hits, serialised in advance.
fn rows(n: usize) -> Res<Vec<(String, String)>> {
    let dir = tempfile::tempdir().map_err(err)?;
    let sdk = sdk(dir.path(), NOWHERE)?;
    for i in 0..1000 {
        sdk.track(event(i)).map_err(err)?;
    }
    sdk.shutdown().map_err(err)?;
    let db = rusqlite::Connection::open(store::db_path(dir.path())).map_err(err)?;
    let (template, template_id): (String, String) =
        db.query_row("SELECT body, event_id FROM hits WHERE body LIKE '%\"seq\":0%' LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
    // Each row's body carries its own event id, as the SDK writes it (the
    // egress gate holds back a row whose body names another).
    Ok((0..n)
        .map(|i| {
            let id = format!("00000000-0000-4000-8000-{i:012}");
            let body = template.replacen("\"seq\":0", &format!("\"seq\":{i}"), 1).replacen(&template_id, &id, 1);
            (id, body)
        })
        .collect())
}

/// The floor: the same rows inserted with rusqlite into the same schema, same
/// pragmas (WAL, synchronous=FULL), in transactions as large as the writer's.
fn insert_rows(dir: &Path, rows: &[(String, String)]) -> Res<Duration> {
    store::create_store(dir).map_err(err)?;
    insert_rows_of(dir, rows, "5b0d6a0e-7f3c-4a57-9d55-2b8f0b2f4c11", "")
}

/// A store as an opted-in visitor's app leaves it, `rows` queued: the
/// choice and the visitor id written by the SDK itself, the rows inserted
/// with that id and site. (At start the SDK purges hits queued under a
/// consent not in force, or with an id that is not on the device: rows
/// inserted into a bare store would be gone before anything is measured.)
fn prefilled(dir: &Path, rows: &[(String, String)]) -> Res<()> {
    let sdk = sdk(dir, NOWHERE)?;
    sdk.track(event(0)).map_err(err)?;
    sdk.shutdown().map_err(err)?;
    let db = rusqlite::Connection::open(store::db_path(dir)).map_err(err)?;
    let (visitor, site): (String, String) = db.query_row("SELECT visitor_id, site FROM identity", [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
    db.execute("DELETE FROM hits", []).map_err(err)?;
    drop(db);
    insert_rows_of(dir, rows, &visitor, &site).map(drop)
}

fn insert_rows_of(dir: &Path, rows: &[(String, String)], visitor: &str, site: &str) -> Res<Duration> {
    let mut db = rusqlite::Connection::open(store::db_path(dir)).map_err(err)?;
    // The writer's pragmas (core/src/store/mod.rs).
    db.pragma_update(None, "secure_delete", "ON").map_err(err)?;
    let _: String = db.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(err)?;
    db.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    let now = SystemClock.now_ms();
    let t0 = Instant::now();
    for chunk in rows.chunks(FLOOR_TX) {
        let tx = db.transaction().map_err(err)?;
        {
            let mut st = tx
                .prepare_cached("INSERT INTO hits (event_id, visitor_id, mode, tracked_at_ms, body, site) VALUES (?1, ?2, 'optin', ?3, ?4, ?5)")
                .map_err(err)?;
            for (id, body) in chunk {
                st.execute(params![id, visitor, now, body, site]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
    }
    Ok(t0.elapsed())
}

/// Hits acknowledged per second by a loopback collector, and the floor: the
/// same request bodies POSTed one after the other with ureq.
fn upload() -> Res<(f64, f64, usize)> {
    let dir = tempfile::tempdir().map_err(err)?;
    let collector = Collector::start().map_err(err)?;
    collector.policy(|_| Some(Reply::Status(503))); // keep everything queued while filling
    let sdk = sdk(dir.path(), &collector.url())?;
    for i in 0..UPLOAD {
        loop {
            match sdk.track(event(i)) {
                Ok(_) => break,
                Err(TrackError::QueueFull) => std::thread::yield_now(),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    wait_persisted(&sdk, UPLOAD as u64);
    collector.policy(|_| Some(Reply::Status(200)));
    collector.clear();
    let t0 = Instant::now();
    let mut uploaded = 0;
    while uploaded < UPLOAD as u64 {
        let r = sdk.flush().map_err(err)?;
        uploaded += r.uploaded;
        if r.uploaded == 0 {
            return Err(format!("upload stalled: {r:?}"));
        }
    }
    let mesure_rate = uploaded as f64 / t0.elapsed().as_secs_f64();
    sdk.shutdown().map_err(err)?;

    let bodies: Vec<(String, String)> = collector
        .received()
        .iter()
        .filter(|r| r.acknowledged())
        .map(|r| (format!("{}/event?s=615000&idclient={}", collector.url(), r.query["idclient"]), r.body.clone()))
        .collect();
    let requests = bodies.len();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let t0 = Instant::now();
    for (url, body) in &bodies {
        let mut resp = agent.post(url).header("Content-Type", "application/json").send(body.as_bytes()).map_err(err)?;
        let _ = resp.body_mut().read_to_vec();
    }
    let floor_rate = UPLOAD as f64 / t0.elapsed().as_secs_f64();
    Ok((mesure_rate, floor_rate, requests))
}

/// Time compression of the battery run: 10 minutes of foreground in 6 s.
const BATTERY_SCALE: u64 = 100;
/// One event every 5 s, for 10 minutes in the foreground.
const BATTERY_EVENTS: usize = 120;
const BATTERY_EVERY_MS: u64 = 5_000;
/// A cellular radio stays in its high-power state this long after a
/// transfer (LTE's tail, about 10 s): requests closer together than this
/// share one wake-up.
const RADIO_TAIL_MS: u64 = 10_000;

/// Requests per 1000 hits and radio wake-ups per hour at a typical tagging
/// rate, with the default batch size and flush interval, time compressed
/// `BATTERY_SCALE` times (the configuration's interval and the pace of the
/// events both divided by it). Returns (requests, wake-ups, hits sent).
fn battery(flush_interval_ms: u64) -> Res<(usize, usize, usize)> {
    let dir = tempfile::tempdir().map_err(err)?;
    let collector = Collector::start().map_err(err)?;
    let mut c = Config::new(collector.url(), 615_000, dir.path());
    c.flush_interval_ms = flush_interval_ms / BATTERY_SCALE;
    let sdk = Sdk::builder(c).build().map_err(err)?;
    let t0 = Instant::now();
    for i in 0..BATTERY_EVENTS {
        let due = t0 + Duration::from_millis(i as u64 * BATTERY_EVERY_MS / BATTERY_SCALE);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        sdk.track_screen("article", vec![("page_chapter1".into(), "news".into())]).map_err(err)?;
    }
    // The end of the 10 minutes: what the interval has not sent yet stays for the next session.
    let end = t0 + Duration::from_millis(BATTERY_EVENTS as u64 * BATTERY_EVERY_MS / BATTERY_SCALE);
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let received = collector.received();
    sdk.shutdown().map_err(err)?;
    let tail = Duration::from_millis(RADIO_TAIL_MS / BATTERY_SCALE);
    let mut wakeups = 0;
    let mut last: Option<Instant> = None;
    let mut hits = 0;
    for r in &received {
        hits += r.body.matches("\"event_id\"").count();
        if last.is_none_or(|l| r.at.saturating_duration_since(l) > tail) {
            wakeups += 1;
        }
        last = Some(r.at);
    }
    Ok((received.len(), wakeups, hits))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Start-up: build the SDK (validate, open and migrate, load state, start
/// threads) and read the mode. Baseline: open the same file with rusqlite,
/// set WAL and read one table.
fn startup(queued: usize) -> Res<(Duration, Duration)> {
    let dir = tempfile::tempdir().map_err(err)?;
    if queued > 0 {
        prefilled(dir.path(), &rows(queued)?)?;
    } else {
        store::create_store(dir.path()).map_err(err)?;
    }
    let mut sdk_times = Vec::new();
    let mut floor_times = Vec::new();
    for _ in 0..15 {
        let t0 = Instant::now();
        let sdk = Sdk::builder(config(dir.path(), NOWHERE)).build().map_err(err)?;
        let _ = sdk.mode();
        sdk_times.push(t0.elapsed());
        sdk.shutdown().map_err(err)?;

        let t0 = Instant::now();
        let db = rusqlite::Connection::open(store::db_path(dir.path())).map_err(err)?;
        let _: String = db.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(err)?;
        let _: i64 = db.query_row("SELECT count(*) FROM visitor", [], |r| r.get(0)).map_err(err)?;
        floor_times.push(t0.elapsed());
    }
    // Every start measured ran over the whole queue.
    let db = rusqlite::Connection::open(store::db_path(dir.path())).map_err(err)?;
    let left: i64 = db.query_row("SELECT count(*) FROM hits", [], |r| r.get(0)).map_err(err)?;
    if left != queued as i64 {
        return Err(format!("start-up: {left} of the {queued} queued hits were left after the starts"));
    }
    Ok((median(sdk_times), median(floor_times)))
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Child process: start the SDK over a prefilled queue, track and persist
/// 10 000 hits, then report resident memory.
pub fn rss_child(args: &[String]) -> Res<()> {
    let dir = Path::new(args.get(1).ok_or("rss <queued> <dir>")?);
    let sdk = sdk(dir, NOWHERE)?;
    for i in 0..10_000 {
        loop {
            match sdk.track(event(i)) {
                Ok(_) => break,
                Err(TrackError::QueueFull) => std::thread::yield_now(),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    wait_persisted(&sdk, 10_000);
    let export_free = sdk.flush().map_err(err)?; // the uploader reads the oldest batch
    println!(r#"{{"rss_kb":{},"hwm_kb":{},"pending":{}}}"#, status_kb("VmRSS:"), status_kb("VmHWM:"), export_free.pending);
    sdk.shutdown().map_err(err)?;
    Ok(())
}

fn rss(queued: usize) -> Res<(u64, u64)> {
    let dir = tempfile::tempdir().map_err(err)?;
    if queued > 0 {
        prefilled(dir.path(), &rows(queued)?)?;
    }
    let exe = std::env::current_exe().map_err(err)?;
    let out = Command::new(exe).arg("rss").arg(queued.to_string()).arg(dir.path()).output().map_err(err)?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(err)?;
    let pending = v["pending"].as_u64().unwrap_or(0);
    if pending != queued as u64 + 10_000 {
        return Err(format!("expected {} queued hits, found {pending}", queued + 10_000));
    }
    Ok((v["rss_kb"].as_u64().unwrap_or(0), v["hwm_kb"].as_u64().unwrap_or(0)))
}

fn glean(args: &[&str]) -> Res<serde_json::Value> {
    let dir = tempfile::tempdir().map_err(err)?;
    let exe = std::env::current_exe().map_err(err)?;
    let out = Command::new(exe).args(args).arg(dir.path()).output().map_err(err)?;
    if !out.status.success() {
        return Err(format!("glean peer failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let last = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_owned();
    serde_json::from_str(&last).map_err(err)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores, {cpu}, Linux {}", kernel.trim())
}

pub fn all() -> Res<()> {
    let mut r = Report::default();
    r.line("## Rust core (one run)");
    r.line("");
    r.line(format!("Machine: {}. Release build. Baselines measured in this same run.", machine()));
    r.line("");

    // 1. track latency
    let handoff = handoff_latency(1);
    let handoff4 = handoff_latency(4);
    let (one, refused1) = track_latency(1)?;
    let (four, refused4) = track_latency(4)?;
    let spin1 = spin_latency(1, one.p50);
    let spin4 = spin_latency(4, one.p50);
    let gl = glean(&["glean-latency"])?;
    let gl = Percentiles::from_json(&gl).ok_or("glean latency output")?;
    r.line("### `track()` on the caller's thread");
    r.line("");
    r.line("100 bursts of 1000 calls (opt-in, ~360-byte hits), the writer catching up between bursts.");
    r.line("");
    r.line("| | p50 | p99 | p99.9 | max |");
    r.line("|---|---|---|---|---|");
    for (name, p) in [
        ("Mesure, 1 thread", one),
        ("Mesure, 4 threads", four),
        ("baseline: bare mpsc hand-off, 1 thread", handoff),
        ("baseline: bare mpsc hand-off, 4 threads", handoff4),
        ("baseline: spin for Mesure's p50, 1 thread", spin1),
        ("baseline: spin for Mesure's p50, 4 threads", spin4),
        ("peer: Glean `EventMetric::record`, 1 thread", gl),
    ] {
        r.line(format!("| {name} | {} | {} | {} | {} |", us(p.p50), us(p.p99), us(p.p999), us(p.max)));
    }
    r.line("");
    r.line(format!(
        "Ratios (p99): Mesure / spin of the same length {} (1 thread), {} (4 threads); Mesure / hand-off {} (1 thread), {} (4 threads); Mesure / Glean {} (1 thread). Calls refused for back-pressure: {} and {}.",
        ratio(one.p99 as f64, spin1.p99 as f64),
        ratio(four.p99 as f64, spin4.p99 as f64),
        ratio(one.p99 as f64, handoff.p99 as f64),
        ratio(four.p99 as f64, handoff4.p99 as f64),
        ratio(one.p99 as f64, gl.p99 as f64),
        refused1,
        refused4
    ));
    let lat_ok = one.p99 <= 5_000 && four.p99 <= 5_000;
    r.line(format!("Target p99 ≤ 5 µs (1 and 4 threads): {}. Beat Glean's caller p99: {}.", verdict(lat_ok), verdict(one.p99 < gl.p99)));
    r.line("");

    // 1b. the privacy work's cost
    let (exempt, scrub_ns, scrub_long_ns, gate_ns) = privacy_cost()?;
    r.line("### The privacy work's cost: value scrubbing and the egress gate");
    r.line("");
    r.line("Exempt mode, a screen view with four allowed text properties (`page`, `page_chapter1`, `page_chapter2`, `previous_page`): `track` scrubs each value on the caller's thread; at send time the egress gate parses each stored hit and checks it again.");
    r.line("");
    r.line("| | per call | share of exempt `track` p50 |");
    r.line("|---|---|---|");
    r.line(format!("| `track` in exempt mode, 1 thread, p50 (p99) | {} ({}) | 1 |", us(exempt.p50), us(exempt.p99)));
    r.line(format!("| scrubbing the four values (one linear pass each) | {:.0} ns | {} |", scrub_ns, ratio(scrub_ns, exempt.p50 as f64)));
    r.line(format!("| scrubbing one 1 000-character text | {:.0} ns | {} |", scrub_long_ns, ratio(scrub_long_ns, exempt.p50 as f64)));
    r.line(format!("| the egress gate, per hit (uploader thread) | {:.0} ns | {} |", gate_ns, ratio(gate_ns, exempt.p50 as f64)));
    r.line("");
    let without = (exempt.p50 as f64 - scrub_ns).max(1.0);
    r.line(format!(
        "Target: scrubbing raises `track` p50 by at most 10% (scrubbing / the rest of `track`): {} ({:.1}%).",
        verdict(scrub_ns <= 0.10 * without),
        100.0 * scrub_ns / without
    ));
    r.line("");

    // 2. ingest
    let (rate, avg_body, cpu) = ingest()?;
    let floor_rows = rows(INGEST)?;
    let floor_dir = tempfile::tempdir().map_err(err)?;
    let floor_cpu0 = process_cpu();
    let floor = INGEST as f64 / insert_rows(floor_dir.path(), &floor_rows)?.as_secs_f64();
    let floor_cpu = process_cpu().saturating_sub(floor_cpu0) / INGEST as u32;
    drop(floor_rows);
    let g = glean(&["glean-ingest", &INGEST.to_string()])?;
    let g_rate = g["events_per_s"].as_f64().unwrap_or(0.0);
    let g_cpu = g["cpu_ns_per_event"].as_f64().unwrap_or(f64::NAN);
    let cpu_us = |ns: f64| format!("{:.2} µs", ns / 1000.0);
    r.line("### Sustained ingest to disk");
    r.line("");
    r.line(format!("{INGEST} hits tracked flat out, timed until the last one is committed (average stored hit {avg_body:.0} bytes)."));
    r.line("");
    r.line("| | hits/s | CPU per hit, every thread | durability |");
    r.line("|---|---|---|---|");
    r.line(format!(
        "| Mesure: `track` → committed row | {rate:.0} | {} | WAL, `synchronous=FULL`: each commit is fsynced |",
        cpu_us(cpu.as_nanos() as f64)
    ));
    r.line(format!(
        "| floor: rusqlite inserts of the same rows, {FLOOR_TX} per transaction | {floor:.0} | {} | same |",
        cpu_us(floor_cpu.as_nanos() as f64)
    ));
    r.line(format!("| peer: Glean events written (record → `shutdown` done) | {g_rate:.0} | {} | appends to files, no fsync |", cpu_us(g_cpu)));
    r.line("");
    r.line(
        "CPU per hit: the process's user and system time (`/proc/self/stat`, 10 ms ticks) over the run, divided by the hits: the caller's thread and every thread of the SDK (Glean: its dispatcher), for the phone's battery.",
    );
    r.line("");
    r.line(format!(
        "Ratio to the floor: {} (target ≥ 0.5×: {}). Ratio to Glean: {} (beat it: {}).",
        ratio(rate, floor),
        verdict(rate >= 0.5 * floor),
        ratio(rate, g_rate),
        verdict(rate > g_rate)
    ));
    r.line("");

    // 3. upload
    let (up, up_floor, requests) = upload()?;
    r.line("### Upload to a loopback collector");
    r.line("");
    r.line(format!(
        "{UPLOAD} queued hits, `flush()` until empty, the default batch size ({DEFAULT_BATCH_SIZE} hits: {requests} requests), real HTTP on 127.0.0.1, the ureq client."
    ));
    r.line("");
    r.line(format!(
        "Mesure: {up:.0} hits/s acknowledged (read, send, delete). Floor: the same bodies POSTed back to back with ureq: {up_floor:.0} hits/s. Ratio {}.",
        ratio(up, up_floor)
    ));
    r.line("");

    // 3b. battery: requests and radio wake-ups at a typical tagging rate
    r.line("### Requests and radio wake-ups at a typical tagging rate");
    r.line("");
    r.line(format!(
        "One screen view every {} s for 10 minutes in the foreground ({BATTERY_EVENTS} hits), default batch size, time compressed {BATTERY_SCALE}× (interval and pace both divided). A request within {} s of the previous one shares its radio wake-up (LTE's tail); the 10 minutes repeated make the hour.",
        BATTERY_EVERY_MS / 1000,
        RADIO_TAIL_MS / 1000
    ));
    r.line("");
    r.line("| flush interval | requests | hits sent | requests per 1000 hits | radio wake-ups per hour |");
    r.line("|---|---|---|---|---|");
    for interval in [mesure_core::DEFAULT_FLUSH_INTERVAL_MS, 30_000] {
        let (requests, wakeups, hits) = battery(interval)?;
        r.line(format!(
            "| {} s{} | {requests} | {hits} | {:.0} | {} |",
            interval / 1000,
            if interval == mesure_core::DEFAULT_FLUSH_INTERVAL_MS {
                " (default; target ≤ 30 wake-ups per hour)"
            } else {
                " (the default before issue 20)"
            },
            requests as f64 * 1000.0 / hits.max(1) as f64,
            wakeups * 6
        ));
    }
    r.line("");

    // 4. start-up
    let (s0, f0) = startup(0)?;
    let (s100k, f100k) = startup(100_000)?;
    r.line("### Start-up");
    r.line("");
    r.line("Median of 15: build the SDK (validate, open and migrate, load state, start threads) and read the mode.");
    r.line("");
    r.line("| queued hits | Mesure | baseline: open + WAL + one read | ratio |");
    r.line("|---|---|---|---|");
    r.line(format!("| 0 | {} | {} | {} |", ms(s0), ms(f0), ratio(s0.as_secs_f64(), f0.as_secs_f64())));
    r.line(format!("| 100 000 | {} | {} | {} |", ms(s100k), ms(f100k), ratio(s100k.as_secs_f64(), f100k.as_secs_f64())));
    r.line("");
    r.line(format!("Target ≤ 10 ms with 100 000 queued: {}.", verdict(s100k <= Duration::from_millis(10))));
    r.line("");

    // 5. memory
    let (m0, h0) = rss(0)?;
    let (m100k, h100k) = rss(100_000)?;
    let (m1m, h1m) = rss(1_000_000)?;
    r.line("### Memory");
    r.line("");
    r.line("A fresh process starts the SDK over the queued hits, tracks and persists 10 000 more, flushes once against a closed port (the uploader reads the oldest batch), then reads its own RSS.");
    r.line("");
    r.line("| queued hits | RSS | peak RSS | RSS / RSS with 0 queued |");
    r.line("|---|---|---|---|");
    for (q, m, h) in [("0", m0, h0), ("100 000", m100k, h100k), ("1 000 000", m1m, h1m)] {
        r.line(format!("| {q} | {:.1} MB | {:.1} MB | {} |", m as f64 / 1024.0, h as f64 / 1024.0, ratio(m as f64, m0 as f64)));
    }
    r.line("");
    let flat = m1m as f64 <= m0 as f64 * 1.25;
    r.line(format!("Flat (1 000 000 queued within 25 % of 0 queued): {}.", verdict(flat)));
    r.line("");

    let out = std::env::var("MESURE_BENCH_OUT").unwrap_or_else(|_| "target/bench/rust.md".into());
    if let Some(parent) = Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&out, &r.0).map_err(err)?;
    Ok(())
}
