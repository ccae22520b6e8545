//! Nothing a purge deleted leaves the device once the purge has committed:
//! not the halves of a batch the collector refused (400, 413) while the purge
//! ran, not a batch retried after it. The purges: opt-out, no-consent and
//! no-storage (which delete the visitor id and its queued hits), and
//! `delete_local_data`.

mod common;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mesure_core::*;

/// Holds the first request until the test answers it; answers the others at
/// once with the status the test chose. Records every request's `idclient`
/// and its number of events.
struct HeldClient {
    first: Mutex<Option<Sender<Completion>>>,
    then: u16,
    sent: Mutex<Vec<(String, usize)>>,
}

impl HeldClient {
    fn new(then: u16) -> (Arc<HeldClient>, Receiver<Completion>) {
        let (tx, rx) = mpsc::channel();
        (Arc::new(HeldClient { first: Mutex::new(Some(tx)), then, sent: Mutex::new(Vec::new()) }), rx)
    }

    fn sent(&self) -> Vec<(String, usize)> {
        self.sent.lock().unwrap().clone()
    }
}

impl HttpClient for HeldClient {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let id = request.url.split("idclient=").nth(1).unwrap_or("").to_owned();
        self.sent.lock().unwrap().push((id, body["events"].as_array().map_or(0, Vec::len)));
        match self.first.lock().unwrap().take() {
            Some(hold) => hold.send(completion).unwrap(),
            None => {
                completion.complete(HttpOutcome::Response { status: self.then, retry_after: None, body: Vec::new() });
            }
        }
    }
}

/// Tracks 8 exempt hits and starts a flush whose first request the client
/// holds; runs `purge` while it is in flight, waits until the purge has
/// committed, then answers the held request with `status`. Returns what the
/// client was sent and the flush report.
fn purge_while_in_flight(status: u16, purge: impl FnOnce(&Sdk)) -> (Vec<(String, usize)>, FlushReport, Stats) {
    let env = Env::new();
    let (client, held) = HeldClient::new(200);
    let sdk = Arc::new(
        Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(env.recorder.clone()).http_client(client.clone()).build().unwrap(),
    );
    for i in 0..8 {
        sdk.track(Event::screen(format!("p{i}"))).unwrap();
    }
    let flusher = {
        let sdk = sdk.clone();
        std::thread::spawn(move || sdk.flush().unwrap())
    };
    let completion = held.recv_timeout(Duration::from_secs(30)).expect("the first request");
    purge(&sdk);
    // The purge is committed once the writer answers an export: the export
    // is queued behind it.
    let exported = sdk.export_local_data().unwrap();
    assert!(exported.pending_hits.is_empty(), "the purge deleted the queue");
    assert!(env.queued().is_empty());
    completion.complete(HttpOutcome::Response { status, retry_after: None, body: Vec::new() });
    let report = flusher.join().unwrap();
    let sent = client.sent();
    let stats = sdk.stats();
    (sent, report, stats)
}

#[test]
fn a_refused_batch_is_not_split_and_resent_after_an_opt_out() {
    for status in [400, 413] {
        let (sent, report, stats) = purge_while_in_flight(status, |sdk| sdk.set_mode(VisitorMode::OptOut).unwrap());
        assert_eq!(sent.len(), 1, "HTTP {status}: only the request in flight when the purge committed: {sent:?}");
        assert!(is_uuid_v4(&sent[0].0));
        assert_eq!(sent[0].1, 8);
        assert_eq!((report.uploaded, report.rejected, report.pending), (0, 0, 0), "HTTP {status}: {report:?}");
        assert_eq!(report.purged, 8, "HTTP {status}: the flush says where the batch went");
        assert_eq!(stats.purged_on_mode_change, 8);
        assert_eq!(stats.rejected_by_collector, 0, "nothing counted twice");
    }
}

#[test]
fn a_refused_batch_is_not_resent_after_local_data_is_deleted() {
    let (sent, report, stats) = purge_while_in_flight(400, |sdk| {
        assert_eq!(sdk.delete_local_data().unwrap(), 8);
    });
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(report.purged, 8);
    assert_eq!(stats.deleted_with_local_data, 8);
}

#[test]
fn a_batch_kept_for_a_retry_is_not_sent_after_a_purge() {
    for purge_to in [VisitorMode::OptOut, VisitorMode::NoConsent, VisitorMode::NoStorage] {
        let (sent, report, _) = purge_while_in_flight(503, |sdk| sdk.set_mode(purge_to.clone()).unwrap());
        assert_eq!(sent.len(), 1, "{purge_to}: {sent:?}");
        assert_eq!((report.uploaded, report.pending), (0, 0), "{purge_to}: {report:?}");
    }
}

#[test]
fn an_acknowledged_batch_whose_rows_a_purge_took_counts_once() {
    let (sent, report, stats) = purge_while_in_flight(200, |sdk| sdk.set_mode(VisitorMode::OptOut).unwrap());
    assert_eq!(sent.len(), 1);
    assert_eq!((report.uploaded, report.purged), (0, 8), "{report:?}");
    assert_eq!((stats.uploaded, stats.purged_on_mode_change), (0, 8));
}

#[test]
fn hits_tracked_after_the_purge_still_leave() {
    let mut env = Env::new();
    env.config.send_hits_in_opt_out = true;
    let sdk = env.sdk();
    sdk.track(Event::screen("before")).unwrap();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.track(Event::screen("after")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.purged, report.pending), (1, 0, 0), "{report:?}");
    assert_eq!(env.requests().iter().map(|(id, e)| (id.clone(), e.len())).collect::<Vec<_>>(), [("opt-out".to_owned(), 1)]);
}
