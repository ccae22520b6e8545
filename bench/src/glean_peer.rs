//! The peer: Mozilla Glean's Rust core recording ~300-byte events into its
//! built-in `events` ping, with an uploader that does nothing. Run in a child
//! process (Glean is a process-wide singleton).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use glean::net::{CapablePingUploadRequest, PingUploader, UploadResult};
use glean::private::EventMetric;
use glean::{ClientInfoMetrics, CommonMetricData, ConfigurationBuilder, Lifetime};

use crate::measure::PAYLOAD;
use crate::report::Percentiles;

#[derive(Debug)]
struct NoUpload;

impl PingUploader for NoUpload {
    fn upload(&self, _request: CapablePingUploadRequest) -> UploadResult {
        UploadResult::http_status(200)
    }
}

/// One extra of ~300 bytes, the size of a Mesure hit's own content.
struct Payload(String);

impl glean::traits::ExtraKeys for Payload {
    const ALLOWED_KEYS: &'static [&'static str] = &["payload"];
    fn into_ffi_extra(self) -> HashMap<String, String> {
        HashMap::from([("payload".to_owned(), self.0)])
    }
}

fn payload(i: usize) -> Payload {
    Payload(format!("{PAYLOAD}{PAYLOAD} seq={i}"))
}

fn start(dir: &str) -> EventMetric<Payload> {
    let cfg = ConfigurationBuilder::new(true, PathBuf::from(dir), "mesure.bench.peer")
        .with_server_endpoint("http://127.0.0.1:9")
        .with_uploader(NoUpload)
        .build();
    glean::initialize(
        cfg,
        ClientInfoMetrics { app_build: "1".into(), app_display_version: "1".into(), channel: None, locale: None, os_version: None },
    );
    let metric = EventMetric::new(CommonMetricData {
        category: "bench".into(),
        name: "screen_view".into(),
        send_in_pings: vec!["events".into()],
        lifetime: Lifetime::Ping,
        disabled: false,
        ..Default::default()
    });
    // Blocks on Glean's dispatcher: initialisation is done after this.
    let _ = metric.test_get_value(None);
    metric
}

/// Caller-side latency of `record`, same protocol as Mesure's `track`:
/// 100 bursts of 1000 calls, a pause between bursts.
pub fn latency(args: &[String]) -> Result<(), String> {
    let dir = args.first().ok_or("glean-latency <dir>")?;
    let metric = start(dir);
    let mut samples = Vec::with_capacity(100_000);
    for b in 0..100 {
        for i in 0..1000 {
            let p = payload(b * 1000 + i);
            let t0 = Instant::now();
            metric.record(p);
            samples.push(t0.elapsed().as_nanos() as u64);
        }
        let _ = metric.test_get_value(None); // let the dispatcher catch up
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("{}", Percentiles::of(samples).to_json());
    glean::shutdown();
    Ok(())
}

/// Events recorded flat out, timed until Glean's dispatcher has written them.
pub fn ingest(args: &[String]) -> Result<(), String> {
    let n: usize = args.first().and_then(|s| s.parse().ok()).ok_or("glean-ingest <n> <dir>")?;
    let dir = args.get(1).ok_or("glean-ingest <n> <dir>")?;
    let metric = start(dir);
    let cpu0 = crate::measure::process_cpu();
    let t0 = Instant::now();
    for i in 0..n {
        metric.record(payload(i));
    }
    let _ = metric.test_get_value(None); // returns once every queued record is processed
    let elapsed = t0.elapsed();
    let cpu = crate::measure::process_cpu().saturating_sub(cpu0);
    println!(
        r#"{{"events_per_s":{:.0},"elapsed_ms":{},"cpu_ns_per_event":{:.0}}}"#,
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_millis(),
        cpu.as_nanos() as f64 / n as f64
    );
    glean::shutdown();
    Ok(())
}
