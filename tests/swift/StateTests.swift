// The published state: the stream, and the settings-screen model's logic
// (ModelLogic, ModelDriver), which is plain Swift and tested here; only
// its SwiftUI wrapper (MesureStateModel) is Apple-only.
// Concurrency tests: run 20 times under `stress-ng --cpu 2` before commit.

import Foundation
@testable import Mesure
import XCTest

/// Blocks the driver hands to the main thread, kept until the test runs them.
private final class HopQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var blocks: [@Sendable () -> Void] = []

    var hop: @Sendable (@escaping @Sendable () -> Void) -> Void {
        { [self] block in
            condition.lock()
            blocks.append(block)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits (10 s at most) until `count` blocks are waiting, then runs them
    /// all in order; returns how many ran.
    @discardableResult
    func run(atLeast count: Int) -> Int {
        let deadline = Date().addingTimeInterval(10)
        condition.lock()
        while blocks.count < count && condition.wait(until: deadline) {}
        let taken = blocks
        blocks = []
        condition.unlock()
        taken.forEach { $0() }
        return taken.count
    }
}

final class StateTests: XCTestCase {
    private var storage: TempDir!

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(gate: StartGate? = nil, onError: (@Sendable (MesureError) -> Void)? = nil) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: storage.url, httpClient: CapturingClient(), onError: onError)
        options.beforeCoreStart = gate?.hook
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000)
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

    /// The next state from `stream` (nil: none within 10 s, or the stream ended).
    private func next(_ stream: AsyncStream<MesureState>) async -> MesureState? {
        await within(10) {
            for await state in stream { return state }
            return nil
        }
    }

    /// Whether `stream` ends (yields nothing more) within 10 s.
    private func ends(_ stream: AsyncStream<MesureState>) async -> Bool {
        await within(10) {
            for await _ in stream { return false }
            return true
        } ?? false
    }

    func testTheStreamFollowsTheStartEachChangeAndTheClose() async throws {
        let gate = StartGate()
        let sdk = try start(gate: gate)
        XCTAssertTrue(gate.waitUntilHeld())
        let stream = sdk.stateUpdates()
        let starting = await next(stream)
        XCTAssertEqual(starting, MesureState(mode: .exempt, epoch: -1, ready: false), "the default mode, until the store is read")

        gate.open()
        let ready = await next(stream)
        XCTAssertEqual(ready?.ready, true)
        XCTAssertEqual(ready?.mode, .exempt)
        XCTAssertEqual(ready?.epoch, 0)
        XCTAssertEqual(ready?.purposes, ["audience_measurement": .essential])

        sdk.setOptedOut(true)
        let optedOut = await next(stream)
        XCTAssertEqual(optedOut?.mode, .optOut)
        XCTAssertEqual(optedOut?.epoch, 1)
        XCTAssertEqual(optedOut?.isOptedOut, true)
        XCTAssertEqual(sdk.state, optedOut)

        sdk.close()
        let closed = await next(stream)
        XCTAssertEqual(closed?.ready, false)
        XCTAssertEqual(closed?.mode, .optOut)
        let ended = await ends(stream)
        XCTAssertTrue(ended, "the stream ends with the SDK")
        let late = sdk.stateUpdates()
        let lateFirst = await next(late)
        XCTAssertEqual(lateFirst, closed, "a stream asked for after close gives the last state")
        let lateEnded = await ends(late)
        XCTAssertTrue(lateEnded)
        await sdk.shutdown()
    }

    /// A change the app did not make (deleting local data under opt-in
    /// returns to the default mode) reaches the state too.
    func testChangesMadeByTheCoreArrive() async throws {
        let sdk = try start()
        sdk.setConsent(true)
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .optIn)
        _ = try await sdk.deleteLocalData()
        XCTAssertEqual(sdk.state.mode, .exempt, "published before deleteLocalData returned")
        XCTAssertEqual(sdk.state.epoch, 2)
        await sdk.shutdown()
    }

    /// The stored choice is the state once the store is read.
    func testARestartPublishesTheStoredChoice() async throws {
        let first = try start()
        first.setOptedOut(true)
        await first.shutdown()
        let second = try start()
        try await second.awaitApplied()
        XCTAssertEqual(second.state.mode, .optOut)
        XCTAssertTrue(second.isOptedOut)
        await second.shutdown()
    }

    /// The store's one rule: a report older than the state shown changes
    /// nothing, whichever thread delivers it last.
    func testTheReducerKeepsTheNewestState() {
        let shown = MesureState(mode: .optOut, epoch: 2, ready: true)
        let older = ModeChange(previous: .exempt, current: .optIn, atMs: 0, reason: .setByApp, consentRenewalNeeded: false,
                               purposes: [:], epoch: 1)
        XCTAssertNil(StateEvent.change(older).reduce(shown))
        let newer = ModeChange(previous: .optOut, current: .exempt, atMs: 0, reason: .setByApp, consentRenewalNeeded: false,
                               purposes: [:], epoch: 3)
        XCTAssertEqual(StateEvent.change(newer).reduce(shown), MesureState(mode: .exempt, epoch: 3, ready: true))
        XCTAssertNil(StateEvent.change(ModeChange(previous: .exempt, current: .optOut, atMs: 0, reason: .setByApp,
                                                  consentRenewalNeeded: false, purposes: [:], epoch: 2)).reduce(shown),
                     "the listener's copy of what the queue already published")
        XCTAssertEqual(StateEvent.failed(.storage(detail: "x")).reduce(MesureState.starting(nil)),
                       MesureState(mode: .exempt, epoch: -1, ready: false, error: .storage(detail: "x")))
        XCTAssertEqual(StateEvent.closed.reduce(shown), MesureState(mode: .optOut, epoch: 2, ready: false))
    }

    // MARK: The model's logic

    private func state(_ mode: VisitorMode, epoch: Int64) -> MesureState {
        MesureState(mode: mode, epoch: epoch, ready: true)
    }

    func testTheModelIgnoresAnOlderState() {
        var logic = ModelLogic(state(.exempt, epoch: 0))
        logic.receive(state(.optOut, epoch: 2))
        logic.receive(state(.optIn, epoch: 1))
        XCTAssertEqual(logic.state.mode, .optOut, "an older state arriving late changes nothing")
        logic.receive(state(.exempt, epoch: 3))
        XCTAssertEqual(logic.state.mode, .exempt)
        // The same epoch with news (the SDK closed) is taken.
        logic.receive(MesureState(mode: .exempt, epoch: 3, ready: false))
        XCTAssertFalse(logic.state.ready)
    }

    func testTheSwitchFollowsTheVisitorUntilTheirChangeIsApplied() {
        var logic = ModelLogic(state(.exempt, epoch: 0))
        XCTAssertTrue(logic.measurementAllowed)
        let first = logic.requestOptedOut(true)
        XCTAssertFalse(logic.measurementAllowed, "the switch moves at once")
        XCTAssertEqual(logic.state.mode, .exempt, "the state waits for the SDK")
        let second = logic.requestOptedOut(false)
        XCTAssertTrue(logic.measurementAllowed)
        logic.receive(state(.optOut, epoch: 1))
        logic.finished(first, error: nil)
        XCTAssertTrue(logic.measurementAllowed, "the second change is still on its way: the switch stays where it was left")
        logic.receive(state(.exempt, epoch: 2))
        logic.finished(second, error: nil)
        XCTAssertTrue(logic.measurementAllowed)
        XCTAssertNil(logic.lastError)
    }

    func testAFailedChangeShowsItsErrorAndTheStateAsItIs() {
        var logic = ModelLogic(state(.exempt, epoch: 0))
        let request = logic.requestOptedOut(true)
        logic.finished(request, error: .shutDown)
        XCTAssertEqual(logic.lastError, .shutDown)
        XCTAssertTrue(logic.measurementAllowed, "the switch returns to the SDK's state")
        let consent = logic.request()
        logic.receive(state(.optIn, epoch: 1))
        logic.finished(consent, error: nil)
        XCTAssertNil(logic.lastError, "cleared by the next change that succeeds")
    }

    /// The driver against a real SDK, its hops to the main thread held and
    /// run by the test: the switch moves at once, the state follows in order.
    func testTheDriverFollowsTheSDK() throws {
        let sdk = try start()
        try blocking { try await sdk.awaitApplied() }
        let hops = HopQueue()
        MainActor.assumeIsolated {
            let driver = ModelDriver(sdk: sdk, hop: hops.hop)
            var seen: [ModelLogic] = []
            driver.onChange = { seen.append($0) }
            XCTAssertEqual(driver.logic.state.mode, .exempt)
            XCTAssertTrue(driver.logic.measurementAllowed)

            driver.setOptedOut(true)
            XCTAssertFalse(driver.logic.measurementAllowed, "the switch moves at once")
            XCTAssertEqual(driver.logic.state.mode, .exempt)
            // The state, then the change's answer (the listener's copy may add a third, ignored).
            hops.run(atLeast: 2)
            XCTAssertEqual(driver.logic.state.mode, .optOut)
            XCTAssertFalse(driver.logic.measurementAllowed)
            XCTAssertNil(driver.logic.lastError)
            XCTAssertEqual(seen.first?.measurementAllowed, false)
            XCTAssertEqual(seen.last?.state.mode, .optOut)

            driver.setConsent(true)
            hops.run(atLeast: 2)
            XCTAssertEqual(driver.logic.state.mode, .optIn, "a consent given opts in")
            XCTAssertTrue(driver.logic.measurementAllowed)

            sdk.close()
            driver.setOptedOut(true)
            XCTAssertFalse(driver.logic.measurementAllowed)
            // The closed state, then the change's answer: shutDown.
            hops.run(atLeast: 2)
            XCTAssertEqual(driver.logic.lastError, .shutDown)
            XCTAssertTrue(driver.logic.measurementAllowed, "back to the state: still opted in")
            XCTAssertFalse(driver.logic.state.ready)
        }
        try blocking { await sdk.shutdown() }
    }

    /// The default hop, the main queue: what the SwiftUI model gets.
    func testTheDriverUpdatesOnTheMainQueue() throws {
        let sdk = try start()
        try blocking { try await sdk.awaitApplied() }
        MainActor.assumeIsolated {
            let driver = ModelDriver(sdk: sdk)
            let applied = expectation(description: "the opt-out reached the model on the main queue")
            var fulfilled = false
            driver.onChange = { logic in
                XCTAssertTrue(Thread.isMainThread)
                if logic.state.mode == .optOut && logic.pendingOptedOut == nil && !fulfilled {
                    fulfilled = true
                    applied.fulfill()
                }
            }
            driver.setOptedOut(true)
            wait(for: [applied], timeout: 10)
            XCTAssertFalse(driver.logic.measurementAllowed)
        }
        try blocking { await sdk.shutdown() }
    }
}
