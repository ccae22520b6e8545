// The ordered hand-off: calls return at once, and are applied in call
// order, including those made before the core is ready; a burst past the
// bound drops the oldest pending tracks, never a mode change.
// Concurrency tests: run 20 times under `stress-ng --cpu 2` before commit.

import Foundation
@testable import Mesure
import XCTest

final class OrderingTests: XCTestCase {
    private var storage: TempDir!
    private let client = CapturingClient()

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(gate: StartGate? = nil, diagnostics: Diagnostics? = nil, maxPendingCalls: Int = 8192) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: storage.url, httpClient: client, onDiagnostic: diagnostics?.callback,
                                        maxPendingCalls: maxPendingCalls)
        options.beforeCoreStart = gate?.hook
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000)
        }
    }

    /// The `page` of every hit uploaded, in upload order.
    private func sentPages() throws -> [String] {
        try client.requests.flatMap { try JSON.parse($0.body)["events"].array ?? [] }.map { $0["data"]["page"].string ?? "?" }
    }

    /// The start is held on purpose (a gate in its hook, no sleep): tracks
    /// made meanwhile return at once and arrive in order once it opens.
    func testCallsMadeBeforeTheCoreIsReadyArriveInOrder() async throws {
        let gate = StartGate()
        let sdk = try start(gate: gate)
        XCTAssertTrue(gate.waitUntilHeld(), "the start never reached its hook")
        for i in 0..<120 {
            sdk.trackScreen("screen_\(i)")
        }
        XCTAssertFalse(gate.timedOut, "a track waited for the start")
        XCTAssertFalse(sdk.state.ready, "the core is not built yet")
        gate.open()
        _ = try await sdk.flush()
        // Uploaded by the flush or, batch by batch, by the background uploader: in order either way.
        XCTAssertEqual(try sentPages(), (0..<120).map { "screen_\($0)" })
        XCTAssertTrue(sdk.state.ready)
        await sdk.shutdown()
    }

    /// `setOptedOut(true)` then a track: the track is filtered under
    /// opt-out, whatever the threads do. Then a hundred alternations.
    func testAnOptOutAppliesToTheTracksThatFollowItInProgramOrder() async throws {
        let diagnostics = Diagnostics()
        let sdk = try start(diagnostics: diagnostics)
        sdk.setOptedOut(true)
        sdk.trackScreen("secret")
        let first = try await sdk.flush()
        XCTAssertEqual(first.uploaded, 0)
        XCTAssertEqual(client.requests.count, 0, "nothing left the device")
        let heldBack = Diagnostic.dropped(mode: "optout", event: "page.display", property: nil, reason: "opt_out_sends_nothing",
                                          explanation: "visitor opted out and anonymous opt-out hits are disabled")
        XCTAssertEqual(diagnostics.wait { !$0.isEmpty }, [heldBack])

        for round in 0..<100 {
            sdk.setOptedOut(round % 2 == 0)
            sdk.trackScreen("page_\(round)")
        }
        let stats = try await sdk.stats()
        XCTAssertEqual(stats.eventsDroppedByMode, 51, "the first one and every even round, each under opt-out")
        XCTAssertEqual(stats.accepted, 50, "every odd round, each after an opt-out was lifted")
        _ = try await sdk.flush()
        XCTAssertEqual(try sentPages(), ["page_99"])
        XCTAssertFalse(sdk.state.isOptedOut)
        XCTAssertEqual(sdk.state.epoch, 101, "one change per setter call that was applied")
        await sdk.shutdown()
    }

    /// Past the bound, the oldest pending tracks go, counted and reported
    /// once; mode changes are kept and applied in order.
    func testAFullQueueDropsTheOldestTracksNeverAModeChange() async throws {
        let gate = StartGate()
        let diagnostics = Diagnostics()
        let sdk = try start(gate: gate, diagnostics: diagnostics, maxPendingCalls: 4)
        XCTAssertTrue(gate.waitUntilHeld())
        sdk.setOptedOut(true)
        sdk.setOptedOut(false)
        for i in 0..<6 {
            sdk.trackScreen("s\(i)")
        }
        gate.open()
        try await sdk.awaitApplied()
        XCTAssertEqual(diagnostics.wait { !$0.isEmpty }, [.backpressure(dropped: 4)])
        XCTAssertEqual(sdk.state.epoch, 2, "both mode changes were applied")
        XCTAssertFalse(sdk.state.isOptedOut)
        _ = try await sdk.flush()
        XCTAssertEqual(try sentPages(), ["s4", "s5"], "the newest tracks were kept")
        await sdk.shutdown()
    }

    /// The caller's thread never waits for the core: with the start held,
    /// every call (tracks, setters, close) returns.
    func testNoCallWaitsForTheCore() async throws {
        let gate = StartGate()
        let sdk = try start(gate: gate)
        XCTAssertTrue(gate.waitUntilHeld())
        sdk.track("search.query", ["q": "bike"])
        sdk.trackClick(.action, "buy")
        sdk.setConsent(true)
        sdk.setPurposes(["audience_measurement": .optIn])
        sdk.setContext(iPhoneContext)
        sdk.close()
        XCTAssertFalse(gate.timedOut, "a call waited for the start")
        gate.open()
        await sdk.shutdown()
        XCTAssertFalse(sdk.state.ready)
    }
}
