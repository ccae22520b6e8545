// The published state: the stream, and the settings-screen model's logic
// (ModelLogic, ModelDriver), which is plain Swift and tested here; only
// its SwiftUI wrapper (MesureStateModel) is Apple-only.
// Concurrency tests: run 20 times under `stress-ng --cpu 2` before commit.

import Foundation
@testable import Mesure
import MesureBindings
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
        options.clock = gate
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
        XCTAssertEqual(starting, MesureState(mode: .exempt, epoch: 0, run: .starting), "the default mode, until the store is read")

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
        await sdk.closeAndWait()
    }

    /// A change the app did not make (deleting local data under opt-in
    /// returns to the default mode) reaches the state too.
    func testChangesMadeByTheCoreArrive() async throws {
        let sdk = try start()
        sdk.setConsent(true)
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .optIn)
        _ = try await sdk.deleteLocalData()
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .exempt)
        XCTAssertEqual(sdk.state.epoch, 2)
        await sdk.closeAndWait()
    }

    /// The stored choice is the state once the store is read.
    func testARestartPublishesTheStoredChoice() async throws {
        let first = try start()
        first.setOptedOut(true)
        await first.closeAndWait()
        let second = try start()
        try await second.awaitApplied()
        XCTAssertEqual(second.state.mode, .optOut)
        XCTAssertTrue(second.isOptedOut)
        await second.closeAndWait()
    }

    /// The state is the core's, field by field; `ready` and `error` come from `run`.
    func testTheStateIsTheCoresAsItComes() {
        let core = SdkState(mode: .optIn, purposes: ["audience_measurement": .optIn], consentRenewalNeeded: true, epoch: 3,
                            run: .running)
        let state = MesureState(core)
        XCTAssertEqual(state, MesureState(mode: .optIn, consentRenewalNeeded: true, purposes: ["audience_measurement": .optIn],
                                          epoch: 3, run: .running))
        XCTAssertTrue(state.ready)
        XCTAssertNil(state.error)
        let failed = MesureState(mode: .exempt, epoch: 0, run: .failed(error: .Storage(detail: "x")))
        XCTAssertFalse(failed.ready)
        XCTAssertEqual(failed.error, .Storage(detail: "x"))
        XCTAssertFalse(MesureState(mode: .exempt, epoch: 3, run: .closed).ready)
    }

    // MARK: The model's logic

    private func state(_ mode: VisitorMode, epoch: Int64) -> MesureState {
        MesureState(mode: mode, epoch: epoch, run: .running)
    }

    func testTheModelIgnoresAnOlderState() {
        var logic = ModelLogic(state(.exempt, epoch: 0))
        logic.receive(state(.optOut, epoch: 2))
        logic.receive(state(.optIn, epoch: 1))
        XCTAssertEqual(logic.state.mode, .optOut, "an older state arriving late changes nothing")
        logic.receive(state(.exempt, epoch: 3))
        XCTAssertEqual(logic.state.mode, .exempt)
        // The same epoch with news (the SDK closed) is taken.
        logic.receive(MesureState(mode: .exempt, epoch: 3, run: .closed))
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
        logic.finished(request, error: .ShutDown)
        XCTAssertEqual(logic.lastError, .ShutDown)
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
            // The core answered at once; its state follows.
            hops.run(atLeast: 1)
            XCTAssertEqual(driver.logic.state.mode, .optOut)
            XCTAssertFalse(driver.logic.measurementAllowed)
            XCTAssertNil(driver.logic.lastError)
            XCTAssertEqual(seen.first?.measurementAllowed, false)
            XCTAssertEqual(seen.last?.state.mode, .optOut)

            driver.setConsent(true)
            hops.run(atLeast: 1)
            XCTAssertEqual(driver.logic.state.mode, .optIn, "a consent given opts in")
            XCTAssertTrue(driver.logic.measurementAllowed)

            sdk.close()
            driver.setOptedOut(true)
            // The change's answer, ShutDown, at once; then the closed state.
            XCTAssertEqual(driver.logic.lastError, .ShutDown)
            hops.run(atLeast: 1)
            XCTAssertEqual(driver.logic.lastError, .ShutDown)
            XCTAssertTrue(driver.logic.measurementAllowed, "back to the state: still opted in")
            XCTAssertFalse(driver.logic.state.ready)
        }
        try blocking { await sdk.closeAndWait() }
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
        try blocking { await sdk.closeAndWait() }
    }
}
