// close(): idempotent; what is accepted before it is kept; afterwards
// track*/setters do nothing (logged once, then in the debug log; setters
// report ShutDown to onError) and the waiting operations throw ShutDown.
// start: of two starts on one directory, the second is refused.
// Concurrency tests: run 20 times under `stress-ng --cpu 2` before commit.

import Foundation
@testable import Mesure
import XCTest

final class LifecycleTests: XCTestCase {
    private var storage: TempDir!

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(errors: Inbox<MesureError>? = nil, log: Inbox<String>? = nil) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: storage.url, httpClient: CapturingClient())
        if let errors {
            options.onError = { errors.put($0) }
        }
        if let log {
            options.debugLog = true
            options.logSink = { log.put($0) }
        }
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000)
        }
    }

    /// Asserts `body` throws exactly `MesureError.ShutDown`.
    private func throwsShutDown(_ operation: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            XCTFail("\(operation) succeeded after close")
        } catch {
            XCTAssertEqual(error as? MesureError, .ShutDown, "\(operation): \(error)")
        }
    }

    func testCloseTwiceIsFineAndLaterCallsBehaveAsDocumented() async throws {
        let errors = Inbox<MesureError>()
        let log = Inbox<String>()
        let sdk = try start(errors: errors, log: log)
        sdk.trackScreen("home")
        sdk.close()
        sdk.close()
        await sdk.closeAndWait()
        await sdk.closeAndWait()
        XCTAssertFalse(sdk.state.ready)
        XCTAssertEqual(sdk.state.run, .closed)
        XCTAssertNil(sdk.state.error, "closing is not a failure")

        sdk.trackScreen("later")
        sdk.trackClick(.action, "later")
        sdk.track("later.event")
        sdk.setOptedOut(true)
        sdk.setConsent(true)
        XCTAssertEqual(errors.wait(for: 2), [.ShutDown, .ShutDown], "each setter reports shutDown to onError")
        XCTAssertEqual(sdk.state.mode, .exempt, "nothing changed")

        await throwsShutDown("flush") { _ = try await sdk.flush() }
        await throwsShutDown("exportLocalData") { _ = try await sdk.exportLocalData() }
        await throwsShutDown("deleteLocalData") { _ = try await sdk.deleteLocalData() }
        await throwsShutDown("stats") { _ = try await sdk.stats() }
        await throwsShutDown("complianceReportJson") { _ = try await sdk.complianceReportJson() }
        await throwsShutDown("complianceReportMarkdown") { _ = try await sdk.complianceReportMarkdown() }
        await throwsShutDown("awaitApplied") { try await sdk.awaitApplied() }

        let lines = log.all
        for expected in [
            "[mesure 42] trackScreen ignored after close (then in the debug log only)",
            "[mesure 42] trackScreen ignored after close",
            "[mesure 42] trackClick ignored after close",
            "[mesure 42] track ignored after close",
            "[mesure 42] setOptedOut ignored after close",
            "[mesure 42] setConsent ignored after close",
        ] {
            XCTAssert(lines.contains(expected), "missing log line \(expected) in \(lines)")
        }
        XCTAssertFalse(lines.contains { $0.contains("later") }, "the names tracked are never logged (a screen name is a value): \(lines)")

        // What was accepted before close was persisted: a new instance has it.
        let again = try start()
        let export = try JSON.parse(try await again.exportLocalData())
        XCTAssertEqual(export["pending_hits"].array?.count, 1, "\(export)")
        await again.closeAndWait()
    }

    /// Calls made before close are applied before it, in order, even when
    /// made from many threads at once.
    func testCallsBeforeCloseAreAppliedFromManyThreads() async throws {
        let client = CapturingClient()
        let options = MesureSDK.Options(storageDirectory: storage.url, httpClient: client)
        let sdk = try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000)
        }
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<50 {
                sdk.trackScreen("t\(thread)_\(i)")
            }
        }
        sdk.close()
        await sdk.closeAndWait()
        let again = try start()
        let export = try JSON.parse(try await again.exportLocalData())
        let pending = export["pending_hits"].array?.count ?? 0
        // The background uploader may have sent full batches before the close.
        let uploaded = try client.requests.map { try JSON.parse($0.body)["events"].array?.count ?? 0 }.reduce(0, +)
        XCTAssertEqual(pending + uploaded, 400, "pending \(pending), uploaded \(uploaded)")
        await again.closeAndWait()
    }

    /// The core claims the directory in the constructor, on the caller's
    /// thread: of two starts on one directory the second always throws
    /// `StorageInUse`, and the first keeps working.
    func testASecondStartOnOneDirectoryIsAlwaysRefused() async throws {
        for round in 0..<100 {
            let dir = try TempDir()
            let options = MesureSDK.Options(storageDirectory: dir.url, httpClient: CapturingClient())
            let first = try MesureSDK.start(collectEndpoint: "https://collect.example.test", siteId: 42, options: options)
            XCTAssertThrowsError(try MesureSDK.start(collectEndpoint: "https://collect.example.test", siteId: 42, options: options),
                                 "round \(round)") {
                XCTAssertEqual($0 as? MesureError, .StorageInUse(dir: dir.path), "round \(round)")
            }
            first.trackScreen("home")
            let report = try await first.flush()
            XCTAssertEqual(report.uploaded, 1, "round \(round): the first instance works")
            await first.closeAndWait()
        }
    }
}
