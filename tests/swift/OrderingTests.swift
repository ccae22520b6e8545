// Call order, kept by the core: calls return at once, and are applied in
// call order, including those made before the core's start ends; a burst
// past the core's bound (10 000 waiting tracks) drops the oldest tracks,
// never a mode change.
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

    private func start(gate: StartGate? = nil, diagnostics: Diagnostics? = nil) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: storage.url, httpClient: client, onDiagnostic: diagnostics?.callback)
        options.clock = gate
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000)
        }
    }

    /// The `page` of every hit uploaded, in upload order.
    private func sentPages() throws -> [String] {
        try client.requests.flatMap { try JSON.parse($0.body)["events"].array ?? [] }.map { $0["data"]["page"].string ?? "?" }
    }

    /// The start is held on purpose (a gate in its clock, no sleep): tracks
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
        await sdk.closeAndWait()
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
        await sdk.closeAndWait()
    }

    /// A setter made before the start applies to the tracks made after it:
    /// `setOptedOut(true)` then a track, both waiting for the start, and the
    /// track is filtered under opt-out.
    func testASetterMadeBeforeTheStartAppliesToTheTracksAfterIt() async throws {
        let gate = StartGate()
        let sdk = try start(gate: gate)
        XCTAssertTrue(gate.waitUntilHeld())
        sdk.setOptedOut(true)
        XCTAssertEqual(sdk.core.trackScreen(name: "secret", properties: [:]), .waiting)
        sdk.setOptedOut(false)
        sdk.trackScreen("public")
        XCTAssertFalse(gate.timedOut, "a call waited for the start")
        gate.open()
        _ = try await sdk.flush()
        let stats = try await sdk.stats()
        XCTAssertEqual(stats.eventsDroppedByMode, 1, "the track made under opt-out")
        XCTAssertEqual(try sentPages(), ["public"])
        XCTAssertEqual(sdk.state.epoch, 2)
        await sdk.closeAndWait()
    }

    /// Past the core's bound, the oldest waiting tracks go, counted and
    /// reported; mode changes are kept and applied in order.
    func testAFullQueueDropsTheOldestTracksNeverAModeChange() async throws {
        let gate = StartGate()
        let diagnostics = Diagnostics()
        let sdk = try start(gate: gate, diagnostics: diagnostics)
        XCTAssertTrue(gate.waitUntilHeld())
        sdk.setOptedOut(true)
        sdk.setOptedOut(false)
        for i in 0..<10_003 {
            sdk.trackScreen("s\(i)")
        }
        gate.open()
        try await sdk.awaitApplied()
        let dropped = { (all: [Diagnostic]) in all.reduce(Int64(0)) { if case let .backpressure(n) = $1 { return $0 + n }; return $0 } }
        XCTAssertEqual(dropped(diagnostics.wait { dropped($0) >= 3 }), 3)
        XCTAssertEqual(sdk.state.epoch, 2, "both mode changes were applied")
        XCTAssertFalse(sdk.state.isOptedOut)
        let stats = try await sdk.stats()
        XCTAssertEqual(stats.accepted, 10_000, "the newest tracks were kept")
        await sdk.closeAndWait()
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
        await sdk.closeAndWait()
        XCTAssertFalse(sdk.state.ready)
    }
}
