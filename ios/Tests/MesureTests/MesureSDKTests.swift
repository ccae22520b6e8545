// The wrapper's own tests: no network, no collector. They run with
// `swift test` on a Mac (against the xcframework's macOS slice) and in the
// Linux suite (`cargo xtask test-swift`).

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Mesure
import XCTest

/// Answers 200 to everything and keeps the requests.
private final class AcceptingClient: PlatformHttpClient, @unchecked Sendable {
    private let lock = NSLock()
    private var bodies: [Data] = []

    var requests: [Data] { lock.lock(); defer { lock.unlock() }; return bodies }

    func send(request: HttpRequest, completion: UploadCompletion) throws {
        lock.lock(); bodies.append(request.body); lock.unlock()
        _ = completion.response(status: 200, retryAfter: nil)
    }
}

final class MesureSDKTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesure-sdk-\(UUID().uuidString)", isDirectory: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func start(client: PlatformHttpClient = AcceptingClient(), diagnostics: (@Sendable (Diagnostic) -> Void)? = nil) throws -> MesureSDK {
        try MesureSDK.start(storageDirectory: directory, httpClient: client, onDiagnostic: diagnostics) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: 42, storageDir: platform.storageDir, flushIntervalMs: 3_600_000, context: platform.context)
        }
    }

    func testStartCreatesTheStorageDirectoryAndUsesIt() throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path))
        let sdk = try start()
        defer { try? sdk.shutdown() }
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory))
        XCTAssertTrue(isDirectory.boolValue)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("mesure.sqlite3").path), "the database lives there")
        let permissions = { (path: String) in (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue }
        XCTAssertEqual(try permissions(directory.path), 0o700, "the app's own directory")
        XCTAssertEqual(try permissions(directory.appendingPathComponent("mesure.sqlite3").path), 0o600)
        #if canImport(Darwin)
        let values = try directory.resourceValues(forKeys: [.isExcludedFromBackupKey])
        XCTAssertEqual(values.isExcludedFromBackup, true, "the visitor id must not travel in backups")
        #endif
    }

    func testASecondInstanceOnTheDirectoryIsRefused() throws {
        let sdk = try start()
        XCTAssertThrowsError(try start()) { error in
            guard case MesureError.StorageInUse(let dir) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(dir, self.directory.path)
        }
        try sdk.setOptedOut(true)
        try sdk.shutdown()
        // Shut down: the directory is free, and the choice is read back.
        let again = try start()
        defer { try? again.shutdown() }
        XCTAssertTrue(again.isOptedOut)
    }

    func testAnOlderStateNeverReplacesANewerOne() {
        // The caller and the listener's thread both publish; whichever comes
        // last, the newest state stays.
        let publisher = ModePublisher(ModeState(mode: .exempt, consentRenewalNeeded: false, epoch: 0))
        publisher.publish(ModeState(mode: .optOut, consentRenewalNeeded: false, epoch: 2))
        publisher.publish(ModeState(mode: .optIn, consentRenewalNeeded: false, epoch: 1))
        XCTAssertEqual(publisher.current.mode, .optOut)
        publisher.publish(ModeState(mode: .exempt, consentRenewalNeeded: false, epoch: 3))
        XCTAssertEqual(publisher.current.mode, .exempt)
    }

    func testQuickChangesEndOnTheLastOne() throws {
        let sdk = try start()
        defer { try? sdk.shutdown() }
        for _ in 0..<50 {
            try sdk.setOptedOut(true)
            try sdk.setConsent(true)
        }
        XCTAssertEqual(sdk.modes.current.mode, .optIn)
        // The listener's copies of the older changes arrive after: they change nothing.
        _ = try sdk.mesure.flush()
        XCTAssertEqual(sdk.modes.current.mode, .optIn)
        XCTAssertEqual(sdk.modes.current.epoch, 100)
    }

    func testThePlatformContextReachesTheHits() throws {
        let client = AcceptingClient()
        let sdk = try start(client: client)
        defer { try? sdk.shutdown() }
        try sdk.trackScreen("home", ["items": 3, "premium": true, "ratio": 0.5, "page_chapter1": "news"])
        XCTAssertEqual(try sdk.mesure.flush().uploaded, 1)
        let body = try XCTUnwrap(client.requests.first)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let event = try XCTUnwrap((json["events"] as? [[String: Any]])?.first)
        let data = try XCTUnwrap(event["data"] as? [String: Any])
        let expected = PlatformContext.base()
        XCTAssertEqual(data["os"] as? String, expected.os)
        XCTAssertEqual(data["os_version"] as? String, expected.osVersion)
        XCTAssertEqual(data["event_collection_platform"] as? String, expected.collectionPlatform)
        XCTAssertNotEqual(data["event_collection_platform"] as? String, "rust", "the wrapper names its platform")
        XCTAssertEqual(data["page_chapter1"] as? String, "news", "literal property values arrive")
    }

    func testPropertyLiteralsMapToTheirCases() {
        let values: [String: PropertyValue] = ["s": "x", "i": 3, "d": 0.5, "b": true]
        XCTAssertEqual(values["s"], .text(value: "x"))
        XCTAssertEqual(values["i"], .integer(value: 3))
        XCTAssertEqual(values["d"], .decimal(value: 0.5))
        XCTAssertEqual(values["b"], .flag(value: true))
    }

    func testSetOptedOutRoundTrip() throws {
        let sdk = try start()
        defer { try? sdk.shutdown() }
        XCTAssertFalse(sdk.isOptedOut)
        try sdk.setOptedOut(true)
        XCTAssertTrue(sdk.isOptedOut)
        XCTAssertEqual(sdk.modes.current, ModeState(mode: .optOut, consentRenewalNeeded: false, epoch: 1))
        // Opted out: events are held back by the core, not by the wrapper.
        guard case .notSent = try sdk.track("page.display") else { return XCTFail("an event was queued while opted out") }
        try sdk.setOptedOut(false)
        XCTAssertFalse(sdk.isOptedOut)
        XCTAssertEqual(sdk.mesure.mode(), .exempt)
    }

    func testDiagnosticsReachTheCallback() throws {
        let seen = Locked<[Diagnostic]>([])
        let sdk = try start(diagnostics: { d in seen.update { $0.append(d) } })
        defer { try? sdk.shutdown() }
        // Exempt mode holds back a user id.
        try sdk.track("page.display", ["user_id": "u-1"])
        let deadline = Date().addingTimeInterval(5)
        while seen.value.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssert(seen.value.contains {
            if case let .dropped(_, _, property, reason, _) = $0 { return property == "user_id" && reason == "not_allowed_in_mode" }
            return false
        }, "\(seen.value)")
    }

    // MARK: URLSession outcome mapping

    func testURLErrorsMapToFailureKinds() {
        func kind(_ error: Error, deadlinePassed: Bool = false) -> HttpFailure? {
            if case let .failure(kind, _) = URLSessionHttpClient.outcome(response: nil, error: error, deadlinePassed: deadlinePassed) { return kind }
            return nil
        }
        XCTAssertEqual(kind(URLError(.timedOut)), .timeout)
        XCTAssertEqual(kind(URLError(.cancelled), deadlinePassed: true), .timeout, "our own deadline")
        XCTAssertEqual(kind(URLError(.cancelled)), .network)
        XCTAssertEqual(kind(URLError(.notConnectedToInternet)), .network)
        XCTAssertEqual(kind(URLError(.networkConnectionLost)), .network)
        XCTAssertEqual(kind(URLError(.cannotFindHost)), .network)
        XCTAssertEqual(kind(CocoaError(.fileNoSuchFile)), .other)
    }

    func testHTTPResponsesMapToStatusAndRetryAfter() throws {
        let url = try XCTUnwrap(URL(string: "https://collect.example.test/event"))
        let response = HTTPURLResponse(url: url, statusCode: 503, httpVersion: "HTTP/1.1", headerFields: ["retry-after": "120"])
        XCTAssertEqual(URLSessionHttpClient.outcome(response: response, error: nil), .response(status: 503, retryAfter: "120"))
        let ok = HTTPURLResponse(url: url, statusCode: 200, httpVersion: "HTTP/1.1", headerFields: [:])
        XCTAssertEqual(URLSessionHttpClient.outcome(response: ok, error: nil), .response(status: 200, retryAfter: nil))
        guard case .failure(.other, _) = URLSessionHttpClient.outcome(response: URLResponse(url: url, mimeType: nil, expectedContentLength: 0, textEncodingName: nil), error: nil) else {
            return XCTFail("a response that is not HTTP is a failure")
        }
    }
}

/// A value shared with the SDK's thread.
private final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func update(_ body: (inout T) -> Void) { lock.lock(); body(&stored); lock.unlock() }
}
