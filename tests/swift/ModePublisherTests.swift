// The mode publisher a settings screen binds to: changes made from Swift,
// and changes the SDK makes itself, reach `updates()` and `current`.

import Foundation
import Mesure
import MesureBindings
import XCTest

final class ModePublisherTests: XCTestCase {
    private var storage: TempDir!
    private let client = CapturingClient()

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(_ storage: TempDir) throws -> MesureSDK {
        try MesureSDK.start(storageDirectory: storage.url, httpClient: client) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: 42, storageDir: platform.storageDir, flushIntervalMs: 3_600_000)
        }
    }

    /// `body`'s answer, or nil if it has none after `timeout` seconds.
    private func within<T: Sendable>(_ timeout: TimeInterval, _ body: @escaping @Sendable () async -> T?) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The next state from `stream` that satisfies `condition`, or nil after `timeout`.
    private func next(_ stream: AsyncStream<ModeState>, timeout: TimeInterval = 5, where condition: @escaping @Sendable (ModeState) -> Bool) async -> ModeState? {
        await within(timeout) {
            for await state in stream where condition(state) { return state }
            return nil
        }
    }

    func testOptingOutFromSwiftReachesTheStreamAndCurrent() async throws {
        let sdk = try start(storage)
        defer { try? sdk.shutdown() }
        let stream = sdk.modes.updates()
        // The stream opens with where things stand.
        let initial = await next(stream) { _ in true }
        XCTAssertEqual(initial, ModeState(mode: .exempt, consentRenewalNeeded: false, epoch: 0))

        try sdk.setOptedOut(true)
        XCTAssertEqual(sdk.modes.current.mode, .optOut, "current right after the call")
        XCTAssertTrue(sdk.isOptedOut)
        let update = await next(stream) { $0.mode == .optOut }
        XCTAssertEqual(update?.mode, .optOut, "the stream never yielded .optOut")
        XCTAssertEqual(sdk.mesure.mode(), .optOut, "the core agrees")

        try sdk.setOptedOut(false)
        let back = await next(stream) { $0.mode == .exempt }
        XCTAssertEqual(back?.mode, .exempt, "opting back in returns to the default mode")
        XCTAssertEqual(sdk.modes.current.mode, .exempt)
    }

    func testTurningOptOutOffKeepsAConsent() throws {
        let sdk = try start(storage)
        defer { try? sdk.shutdown() }
        try sdk.setMode(.optIn)
        try sdk.setOptedOut(false)
        XCTAssertEqual(sdk.mesure.mode(), .optIn, "a toggle left on must not withdraw the consent")
        XCTAssertEqual(sdk.modes.current.mode, .optIn)
    }

    /// A change the app did not make (deleting local data under opt-in
    /// returns to the default) arrives through the listener.
    func testChangesMadeByTheSDKArrive() async throws {
        let sdk = try start(storage)
        defer { try? sdk.shutdown() }
        try sdk.setMode(.optIn)
        let stream = sdk.modes.updates()
        _ = try sdk.mesure.deleteLocalData()
        let update = await next(stream) { $0.mode == .exempt }
        XCTAssertEqual(update?.mode, .exempt, "the deletion's mode change never reached the stream")
        XCTAssertEqual(sdk.modes.current.mode, .exempt)
    }

    /// The stored choice wins over the default at the next launch.
    func testARestartPublishesTheStoredChoice() throws {
        let first = try start(storage)
        try first.setOptedOut(true)
        try first.shutdown()
        let second = try start(storage)
        defer { try? second.shutdown() }
        XCTAssertEqual(second.modes.current.mode, .optOut)
        XCTAssertTrue(second.isOptedOut)
    }

    /// Elements until the stream ends; nil if it is still open after `timeout`.
    private func countUntilEnd(_ stream: AsyncStream<ModeState>, timeout: TimeInterval = 5) async -> Int? {
        await within(timeout) {
            var n = 0
            for await _ in stream { n += 1 }
            return n
        }
    }

    func testShutdownEndsTheStreams() async throws {
        let sdk = try start(storage)
        let before = sdk.modes.updates()
        try sdk.shutdown()
        let seen = await countUntilEnd(before)
        XCTAssertEqual(seen, 1, "expected the opening state then the end (nil: the stream never ended)")
        let after = await countUntilEnd(sdk.modes.updates())
        XCTAssertEqual(after, 1, "a stream asked for after shutdown must end too")
    }
}
