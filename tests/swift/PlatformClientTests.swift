// HTTP clients written in Swift, as apps plug them: one that never answers,
// one that answers 503 then 200, and URLSessionHttpClient facing a collector
// that stalls, resets the connection or asks to retry later.

import Foundation
import Mesure
import MesureBindings
import XCTest

/// Takes requests and never answers them (a hung network stack).
final class SilentClient: PlatformHttpClient, @unchecked Sendable {
    private let lock = NSLock()
    private var held: [UploadCompletion] = []

    var count: Int { lock.lock(); defer { lock.unlock() }; return held.count }

    func send(request: HttpRequest, completion: UploadCompletion) throws {
        // Kept, not dropped: a dropped completion is reported at once, and
        // this test is about the SDK not waiting forever.
        lock.lock(); held.append(completion); lock.unlock()
    }
}

final class PlatformClientTests: XCTestCase {
    private var storage: TempDir!

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func config(_ endpoint: String = "https://collect.example.test", requestTimeoutMs: Int64? = nil) -> MesureConfig {
        MesureConfig(collectEndpoint: endpoint, siteId: 42, storageDir: storage.path, flushIntervalMs: 3_600_000, requestTimeoutMs: requestTimeoutMs)
    }

    func testAClientThatNeverAnswersLeavesTheBatchPending() throws {
        let client = SilentClient()
        let mesure = try MesureCore(config: config(requestTimeoutMs: 200), httpClient: client)
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display", properties: ["page": "home"])

        let started = Date()
        let report = try mesure.flush()
        let waited = Date().timeIntervalSince(started)
        XCTAssertEqual(client.count, 1, "one request was handed over")
        XCTAssertEqual(report.uploaded, 0)
        XCTAssertEqual(report.pending, 1, "the batch stays queued")
        XCTAssertEqual(report.deferred, "Timeout: the HTTP client did not answer in time")
        // The request timeout plus the SDK's grace period, not forever.
        XCTAssert(waited >= 0.2 && waited < 10, "flush returned after \(waited) s")
        XCTAssertEqual(mesure.stats().uploadFailures, 1)
    }

    func testA503IsKeptThenDeliveredUnchanged() throws {
        let client = CapturingClient(statuses: [503])
        let recorder = Recorder()
        let mesure = try MesureCore(config: config(), listener: recorder, httpClient: client)
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display", properties: ["page": "home"])

        let first = try mesure.flush()
        XCTAssertEqual(first.uploaded, 0)
        XCTAssertEqual(first.pending, 1)
        XCTAssertEqual(first.deferred, "HTTP 503")
        XCTAssert(recorder.diagnostics.contains { if case .uploadDeferred(hits: 1, cause: "HTTP 503", _) = $0 { return true }; return false },
                  "\(recorder.diagnostics)")

        let second = try mesure.flush()
        XCTAssertEqual(second.uploaded, 1, "\(second)")
        XCTAssertEqual(second.pending, 0)
        let requests = client.requests
        XCTAssertEqual(requests.count, 2)
        XCTAssertEqual(requests.first?.body, requests.last?.body, "the same hits, same event ids, sent again")
        XCTAssertEqual(requests.first?.url, requests.last?.url)
    }

    /// A client that throws is a failed attempt, not a crash, and the hit stays queued.
    func testAThrowingClientIsAFailedAttempt() throws {
        final class Throwing: PlatformHttpClient, @unchecked Sendable {
            func send(request: HttpRequest, completion: UploadCompletion) throws {
                throw CallbackError.Failed(reason: "no network stack")
            }
        }
        let mesure = try MesureCore(config: config(), httpClient: Throwing())
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display")
        let report = try mesure.flush()
        XCTAssertEqual(report.pending, 1)
        XCTAssertEqual(report.deferred?.hasPrefix("Other: the platform HTTP client threw"), true, report.deferred ?? "nil")
    }

    // MARK: URLSessionHttpClient against the collector process

    private func urlSessionSDK(_ collector: Collector, requestTimeoutMs: Int64? = nil) throws -> MesureCore {
        try MesureCore(config: config(collector.url, requestTimeoutMs: requestTimeoutMs), httpClient: URLSessionHttpClient())
    }

    func testURLSessionReportsAStallAsATimeout() throws {
        let collector = try Collector.fromEnvironment()
        try collector.reset()
        try collector.script([["stall_ms": 2500]])
        let mesure = try urlSessionSDK(collector, requestTimeoutMs: 500)
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display")
        let report = try mesure.flush()
        XCTAssertEqual(report.pending, 1)
        let cause = report.deferred ?? "nil"
        XCTAssert(cause.hasPrefix("Timeout:"), cause)
        // Our client answered; the SDK did not have to give up on it.
        XCTAssertFalse(cause.contains("did not answer in time"), cause)
    }

    func testURLSessionReportsAResetAsANetworkFailure() throws {
        let collector = try Collector.fromEnvironment()
        try collector.reset()
        try collector.script([["reset": true]])
        let mesure = try urlSessionSDK(collector)
        defer { try? mesure.shutdown() }
        // A body large enough to still be in flight when the socket closes.
        _ = mesure.track(name: "page.display", properties: ["page": .text(value: String(repeating: "x", count: 200))])
        let report = try mesure.flush()
        XCTAssertEqual(report.pending, 1)
        let cause = report.deferred ?? "nil"
        XCTAssert(cause.hasPrefix("Network:"), cause)

        let retry = try mesure.flush()
        XCTAssertEqual(retry.uploaded, 1, "delivered once the collector answers: \(retry)")
    }

    /// The Retry-After header reaches the SDK: not even a flush sends before it.
    func testURLSessionPassesRetryAfterOn() throws {
        let collector = try Collector.fromEnvironment()
        try collector.reset()
        try collector.script([["status": 503, "retry_after": "1"]])
        let mesure = try urlSessionSDK(collector)
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display")

        let first = try mesure.flush()
        XCTAssertEqual(first.deferred, "HTTP 503")
        XCTAssertEqual(first.pending, 1)
        XCTAssertGreaterThanOrEqual(first.retryInMs ?? 0, 1000, "Retry-After: 1 is a floor")

        let tooSoon = try mesure.flush()
        XCTAssertEqual(tooSoon.uploaded, 0)
        XCTAssertEqual(try collector.received().count, 1, "a flush inside the Retry-After window sent a request")

        Thread.sleep(forTimeInterval: 1.2)
        // The SDK's own retry may have gone already (its delay has jitter); the flush covers the other case.
        let later = try mesure.flush()
        XCTAssertEqual(later.pending, 0, "\(later)")
        XCTAssertEqual(mesure.stats().uploaded, 1)
        let received = try collector.received()
        XCTAssertEqual(received.count, 2)
        XCTAssertEqual(received.last?["acknowledged"].bool, true)
        XCTAssertEqual(received.first?["body"], received.last?["body"], "the kept batch is the one delivered")
    }

    /// A 307 would resend the hits, maybe to another host: refused, the batch kept.
    func testURLSessionDoesNotFollowRedirects() throws {
        let collector = try Collector.fromEnvironment()
        try collector.reset()
        try collector.script([["status": 307, "location": "\(collector.url)/elsewhere"]])
        let mesure = try urlSessionSDK(collector)
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display")
        let first = try mesure.flush()
        XCTAssertEqual(first.deferred, "HTTP 307")
        XCTAssertEqual(first.pending, 1)
        XCTAssertEqual(try collector.received().map { $0["path"].string }, ["/event"], "not followed")
        XCTAssertEqual(try mesure.flush().uploaded, 1)
    }

    /// A 2xx answer's body reaches the SDK: the Matomo wire reads the counts
    /// in it and reports a collector that tracked fewer hits than it was sent.
    func testURLSessionPassesA2xxBodyOn() throws {
        let collector = try Collector.fromEnvironment()
        try collector.reset()
        try collector.script([["status": 200, "json": #"{"status":"success","tracked":0,"invalid":1,"invalid_indices":[0]}"#]])
        let recorder = Recorder()
        let matomo = MesureConfig(
            collectEndpoint: collector.url, siteId: 42, storageDir: storage.path, flushIntervalMs: 3_600_000,
            collector: .matomo(appHost: "app.example", dimensions: [:])
        )
        let mesure = try MesureCore(config: matomo, listener: recorder, httpClient: URLSessionHttpClient())
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display", properties: ["page": "home"])
        let report = try mesure.flush()
        XCTAssertEqual(report.uploaded, 1, "a 2xx answer acknowledges the batch: \(report)")
        XCTAssertEqual(try collector.received().map { $0["path"].string }, ["/matomo.php"])

        let deadline = Date().addingTimeInterval(10)
        func miscounted() -> [Diagnostic] {
            recorder.diagnostics.filter { if case .collectorMiscounted = $0 { return true }; return false }
        }
        while miscounted().isEmpty && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertEqual(miscounted(), [.collectorMiscounted(sent: 1, tracked: 0, invalid: 1)], "\(recorder.diagnostics)")
    }

    /// A response body of 20 MB is answered on its status, and read no further than the bound.
    func testURLSessionBoundsTheResponseBody() throws {
        let collector = try Collector.fromEnvironment()
        try collector.reset()
        try collector.script([["status": 200, "body_bytes": 20_000_000]])
        let mesure = try urlSessionSDK(collector)
        defer { try? mesure.shutdown() }
        _ = mesure.track(name: "page.display")
        XCTAssertEqual(try mesure.flush().uploaded, 1)
    }
}
