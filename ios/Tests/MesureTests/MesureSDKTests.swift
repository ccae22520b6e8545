// The wrapper's own tests: no network, no collector. They run with
// `swift test` on a Mac (against the xcframework's macOS slice) and in the
// Linux suite (`cargo xtask test-swift`).

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Mesure
import XCTest

/// Answers 200 to everything and keeps the request bodies.
private final class AcceptingClient: PlatformHttpClient, @unchecked Sendable {
    private let lock = NSLock()
    private var bodies: [Data] = []

    var requests: [Data] { lock.lock(); defer { lock.unlock() }; return bodies }

    func send(request: HttpRequest, completion: UploadCompletion) throws {
        lock.lock(); bodies.append(request.body); lock.unlock()
        _ = completion.response(status: 200, retryAfter: nil)
    }
}

/// Errors handed to `onError`.
private final class Errors: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [MesureError] = []
    var all: [MesureError] { lock.lock(); defer { lock.unlock() }; return list }
    func add(_ e: MesureError) { lock.lock(); list.append(e); lock.unlock() }
}

final class MesureSDKTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesure-sdk-\(UUID().uuidString)", isDirectory: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func start(at dir: URL? = nil, client: PlatformHttpClient = AcceptingClient(), errors: Errors? = nil) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: dir ?? directory, httpClient: client)
        if let errors { options.onError = { errors.add($0) } }
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000, context: platform.context)
        }
    }

    func testStartPreparesThePrivateDirectoryOnTheSDKsQueue() async throws {
        let sdk = try start()
        try await sdk.awaitApplied()
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
        XCTAssertTrue(sdk.state.ready)
        await sdk.closeAndWait()
    }

    func testTheDefaultDirectoryIsOnePerSite() {
        let a = PlatformContext.defaultStorageDirectory(siteId: 615000)
        let b = PlatformContext.defaultStorageDirectory(siteId: 7)
        XCTAssertEqual(a.lastPathComponent, "615000")
        XCTAssertEqual(a.deletingLastPathComponent().lastPathComponent, "mesure")
        XCTAssertEqual(a.deletingLastPathComponent(), b.deletingLastPathComponent(), "sites side by side under mesure/")
    }

    /// Before per-site directories the one database sat in mesure/: the
    /// core moves it into its own site's directory (choice file included),
    /// never into another site's.
    func testTheLegacyStoreMovesOnlyIntoItsOwnSite() async throws {
        let legacy = try start(at: directory)
        legacy.setOptedOut(true)
        await legacy.closeAndWait()
        let site = directory.appendingPathComponent("42", isDirectory: true)
        let sdk = try MesureSDK.start(siteId: 42, options: MesureSDK.Options(storageDirectory: site, httpClient: nil)) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         dryRun: true, legacyStorageDir: self.directory.path)
        }
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .optOut, "the stored choice came along")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("mesure.sqlite3").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: site.appendingPathComponent("mesure.choice").path))
        await sdk.closeAndWait()
    }

    /// One instance per directory: the second one's start fails on its
    /// queue, and says so in its state, to `onError` and to every waiting call.
    func testASecondInstanceOnTheDirectoryIsRefusedByStart() async throws {
        let first = try start()
        XCTAssertThrowsError(try start()) { XCTAssertEqual($0 as? MesureError, .StorageInUse(dir: directory.path)) }
        try await first.awaitApplied()
        XCTAssertTrue(first.state.ready, "the first instance runs")
        await first.closeAndWait()
    }

    func testThePlatformContextReachesTheHits() async throws {
        let client = AcceptingClient()
        let sdk = try start(client: client)
        sdk.trackScreen("home", ["items": 3, "premium": true, "ratio": 0.5, "page_chapter1": "news"])
        let report = try await sdk.flush()
        XCTAssertEqual(report.uploaded, 1)
        await sdk.closeAndWait()
        let body = try XCTUnwrap(client.requests.first)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let event = try XCTUnwrap((json["events"] as? [[String: Any]])?.first)
        let data = try XCTUnwrap(event["data"] as? [String: Any])
        let expected = PlatformContext.base()
        XCTAssertEqual(data["os"] as? String, expected.os)
        XCTAssertEqual(data["os_version"] as? String, expected.osVersion)
        XCTAssertEqual(data["event_collection_platform"] as? String, expected.collectionPlatform)
        XCTAssertNotEqual(data["event_collection_platform"] as? String, "rust", "the wrapper names its platform")
        XCTAssertEqual(data["page_chapter1"] as? String, "news")
    }

    // MARK: Property values

    func testOrdinaryValuesConvertToTheirCases() {
        let date = Date(timeIntervalSince1970: 1_772_532_000.5)
        let before1970 = Date(timeIntervalSince1970: -1.5)
        let missing: String? = nil
        let present: String? = "here"
        let converted: [String: PropertyValue] = Properties.map([
            "s": "text", "sub": "abc".dropFirst(), "i": 3, "i8": Int8(-8), "u16": UInt16(16), "i64": Int64.min,
            "u64": UInt64.max, "d": 0.5, "f": Float(0.1), "b": true, "date": date, "before": before1970,
            "strings": ["a", "b"], "ints": [1, 2], "doubles": [1.5], "bools": [false], "dates": [date],
            "missing": missing, "present": present, "url": URL(fileURLWithPath: "/tmp"), "value": PropertyValue.integer(value: 9),
        ])
        XCTAssertEqual(converted, [
            "s": .text(value: "text"), "sub": .text(value: "bc"), "i": .integer(value: 3), "i8": .integer(value: -8),
            "u16": .integer(value: 16), "i64": .integer(value: Int64.min), "u64": .text(value: "18446744073709551615"),
            "d": .decimal(value: 0.5), "f": .decimal(value: 0.1), "b": .flag(value: true),
            "date": .date(epochMs: 1_772_532_000_500), "before": .date(epochMs: -1500),
            "strings": .textList(values: ["a", "b"]), "ints": .integerList(values: [1, 2]), "doubles": .decimalList(values: [1.5]),
            "bools": .flagList(values: [false]), "dates": .dateList(epochMs: [1_772_532_000_500]),
            "present": .text(value: "here"), "url": .unsupported(typeName: "URL"), "value": .integer(value: 9),
        ], "nil is left out; a URL becomes unsupported")
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
