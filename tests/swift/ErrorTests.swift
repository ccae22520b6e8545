// Typed errors across the FFI: what an app developer catches.

import Foundation
import Mesure
import MesureBindings
import XCTest

final class ErrorTests: XCTestCase {
    private var storage: TempDir!

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func config(endpoint: String = "https://collect.example.test", siteId: Int64 = 42, customModes: [CustomMode] = []) -> MesureConfig {
        MesureConfig(collectEndpoint: endpoint, siteId: siteId, storageDir: storage.path, customModes: customModes, flushIntervalMs: 3_600_000)
    }

    /// Asserts `body` throws `MesureError.InvalidConfig` for `field`; returns the reason.
    @discardableResult
    private func invalidConfig(_ field: String, _ body: () throws -> Void, line: UInt = #line) -> String? {
        do {
            try body()
            XCTFail("accepted; expected InvalidConfig(\(field))", line: line)
        } catch let MesureError.InvalidConfig(got, reason) {
            XCTAssertEqual(got, field, reason, line: line)
            return reason
        } catch {
            XCTFail("expected InvalidConfig(\(field)), got \(error)", line: line)
        }
        return nil
    }

    func testSiteIdZeroIsRefused() {
        invalidConfig("site_id") { _ = try MesureCore(config: config(siteId: 0), httpClient: CapturingClient()) }
        // The wrapper passes the error through unchanged.
        invalidConfig("site_id") {
            _ = try MesureSDK.start(collectEndpoint: "https://collect.example.test", siteId: 0, storageDirectory: storage.url)
        }
    }

    func testPlainHttpIsRefusedBeyondLoopback() {
        let reason = invalidConfig("collect_endpoint") {
            _ = try MesureCore(config: config(endpoint: "http://collect.example.com"), httpClient: CapturingClient())
        }
        XCTAssert(reason?.contains("https") == true, reason ?? "")
        // Loopback stays allowed (the test collector): the same call succeeds there.
        XCTAssertNoThrow(try MesureCore(config: config(endpoint: "http://127.0.0.1:9"), httpClient: CapturingClient()).shutdown())
    }

    func testInvalidEventNameIsRefusedAndNothingQueued() throws {
        let mesure = try MesureCore(config: config(), httpClient: CapturingClient())
        defer { try? mesure.shutdown() }
        for name in ["", "Page.Display", "page display"] {
            guard case let .refused(reason, message) = mesure.track(name: name) else { return XCTFail("\(name) was not refused") }
            XCTAssertEqual(reason, "invalid_event_name")
            XCTAssert(message.hasPrefix("invalid event name \"\(name)\""), message)
        }
        XCTAssertEqual(mesure.stats().accepted, 0)
        guard case .queued = mesure.track(name: "page.display") else { return XCTFail("a valid name goes through") }
        XCTAssertEqual(mesure.stats().accepted, 1)
    }

    func testUnknownCustomModeIsRefused() throws {
        let search = CustomMode(name: "exempt-search", allowedEvents: ["search.*"])
        let sdk = try MesureSDK.start(storageDirectory: storage.url, httpClient: CapturingClient()) { _ in self.config(customModes: [search]) }
        defer { try? sdk.shutdown() }
        XCTAssertThrowsError(try sdk.setMode(.custom(name: "exempt-nope"))) { error in
            XCTAssertEqual(error as? MesureError, .UnknownMode(name: "exempt-nope"))
        }
        XCTAssertEqual(sdk.modes.current.mode, .exempt, "a refused mode is not published")
        XCTAssertNoThrow(try sdk.setMode(.custom(name: "exempt-search")), "the configured one is known")
        XCTAssertEqual(sdk.mesure.mode(), .custom(name: "exempt-search"))
    }

    func testCallsAfterShutdownFail() throws {
        let mesure = try MesureCore(config: config(), httpClient: CapturingClient())
        try mesure.shutdown()
        XCTAssertEqual(mesure.track(name: "page.display"), .refused(reason: "shut_down", message: "the SDK is shut down"))
        XCTAssertThrowsError(try mesure.setMode(mode: .optOut)) { XCTAssertEqual($0 as? MesureError, .ShutDown) }
    }

    func testAStorageDirectoryThatCannotBeCreatedIsAStorageError() throws {
        // A regular file where the directory should be.
        let file = storage.url.appendingPathComponent("not-a-dir")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8)))
        XCTAssertThrowsError(try MesureSDK.start(collectEndpoint: "https://collect.example.test", siteId: 42, storageDirectory: file.appendingPathComponent("mesure"))) { error in
            guard case MesureError.Storage = error else { return XCTFail("\(error)") }
        }
    }
}
