// The errors an app developer meets: thrown by `start` for a bad
// configuration, handed to `onError` for a setter, thrown by strict calls.
// Each is a lower-camel case of `MesureError`, and prints as a sentence.

import Foundation
import Mesure
import XCTest

final class ErrorTests: XCTestCase {
    private var storage: TempDir!

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(siteId: Int64 = 42, endpoint: String = "https://collect.example.test", customModes: [CustomMode] = [],
                       options: MesureSDK.Options? = nil) throws -> MesureSDK {
        var options = options ?? MesureSDK.Options(httpClient: CapturingClient())
        options.storageDirectory = storage.url
        return try MesureSDK.start(siteId: siteId, options: options) { platform in
            MesureConfig(collectEndpoint: endpoint, siteId: platform.siteId, storageDir: platform.storageDir,
                         customModes: customModes, flushIntervalMs: 3_600_000)
        }
    }

    /// Asserts `body` throws `invalidConfig` for `field`; returns the error.
    @discardableResult
    private func invalidConfig(_ field: String, _ body: () throws -> Void, line: UInt = #line) -> MesureError? {
        do {
            try body()
            XCTFail("accepted; expected invalidConfig(\(field))", line: line)
        } catch let error as MesureError {
            guard case let .InvalidConfig(got, _) = error else {
                XCTFail("expected invalidConfig(\(field)), got \(error)", line: line)
                return nil
            }
            XCTAssertEqual(got, field, line: line)
            return error
        } catch {
            XCTFail("not a MesureError: \(error)", line: line)
        }
        return nil
    }

    /// Checked on the caller's thread, before anything is opened.
    func testABadConfigurationThrowsASentenceNamingTheField() throws {
        let error = invalidConfig("site_id") { _ = try start(siteId: 0) }
        XCTAssertEqual(error?.errorDescription, "invalid configuration: site_id: must be a positive integer")
        XCTAssertEqual(error?.localizedDescription, error?.errorDescription, "localizedDescription is the sentence, not a dump")
        XCTAssertEqual(error.map { "\($0)" }, error?.errorDescription, "printing it prints the sentence")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: storage.path), [], "nothing was created")

        let negative = invalidConfig("site_id") { _ = try start(siteId: -1) }
        XCTAssertEqual(negative?.errorDescription, "invalid configuration: site_id: -1 is out of range (negative, or too large)")
        let http = invalidConfig("collect_endpoint") { _ = try start(endpoint: "http://collect.example.com") }
        XCTAssert(http?.errorDescription?.contains("https") == true, http?.errorDescription ?? "")
    }

    func testTheSiteIdOfTheConfigurationMustBeTheOneStarted() {
        invalidConfig("site_id") {
            _ = try MesureSDK.start(siteId: 42, options: MesureSDK.Options(storageDirectory: storage.url)) { platform in
                MesureConfig(collectEndpoint: "https://collect.example.test", siteId: 43, storageDir: platform.storageDir)
            }
        }
    }

    /// The generated error's cases, each printing the core's sentence.
    func testCasesPrintSentences() {
        let cases: [(MesureError, String, String)] = [
            (.InvalidConfig(field: "site_id", reason: "must be a positive integer"), "InvalidConfig",
             "invalid configuration: site_id: must be a positive integer"),
            (.TrackRefused(reason: "empty_name", explanation: "the page name is empty"), "TrackRefused", "the page name is empty"),
            (.UnknownMode(name: "exempt-nope"), "UnknownMode", "unknown visitor mode \"exempt-nope\""),
            (.UnknownPurpose(name: "ads"), "UnknownPurpose", "unknown purpose \"ads\": list it in the configuration's purposes"),
            (.Storage(detail: "disk full"), "Storage", "storage error: disk full"),
            (.ShutDown, "ShutDown", "the SDK is shut down"),
            (.Timeout, "Timeout", "the SDK's background thread did not answer in time"),
            (.StorageInUse(dir: "/d"), "StorageInUse", "the storage directory /d is in use by another Mesure instance"),
            (.Thread(detail: "EAGAIN"), "Thread", "could not start the SDK's background thread: EAGAIN"),
            (.HttpClient(detail: "tls"), "HttpClient", "could not start the HTTP client: tls"),
            (.CalledFromSdkThread(operation: "flush"), "CalledFromSdkThread", "flush cannot be called from the SDK's own threads"),
        ]
        for (error, name, sentence) in cases {
            // The case's name, for the cases with values (`.ShutDown` and `.Timeout` compile above).
            if let label = Mirror(reflecting: error).children.first?.label {
                XCTAssertEqual(label, name)
            }
            XCTAssertEqual(error.errorDescription, sentence)
            XCTAssertEqual(error.localizedDescription, sentence)
            XCTAssertEqual(String(describing: error), sentence)
            XCTAssertEqual(error.description, sentence)
        }
        XCTAssertEqual(String(reflecting: MesureError.ShutDown), "the SDK is shut down")
    }

    /// A setter the core refuses at once (the SDK started): its error
    /// reaches `onError`, and the published state does not move.
    func testAnUnknownModeReachesOnError() async throws {
        let errors = Inbox<MesureError>()
        var options = MesureSDK.Options(httpClient: CapturingClient())
        options.onError = { errors.put($0) }
        let search = CustomMode(name: "exempt-search", allowedEvents: ["search.*"])
        let sdk = try start(customModes: [search], options: options)
        try await sdk.awaitApplied()
        sdk.setMode(.custom(name: "exempt-nope"))
        try await sdk.awaitApplied()
        XCTAssertEqual(errors.wait(for: 1), [.UnknownMode(name: "exempt-nope")])
        XCTAssertEqual(sdk.state.mode, .exempt, "a refused mode is not published")
        sdk.setMode(.custom(name: "exempt-search"))
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .custom(name: "exempt-search"))
        XCTAssertEqual(errors.all.count, 1)
        sdk.setPurpose("ads", .optIn)
        try await sdk.awaitApplied()
        XCTAssertEqual(errors.wait(for: 2).last, .UnknownPurpose(name: "ads"))
        await sdk.closeAndWait()
    }

    /// Strict calls wait for the start and throw instead.
    func testStrictSettersThrow() async throws {
        let sdk = try start(customModes: [CustomMode(name: "exempt-search")])
        XCTAssertThrowsError(try sdk.strict.setMode(.custom(name: "exempt-nope"))) {
            XCTAssertEqual($0 as? MesureError, .UnknownMode(name: "exempt-nope"))
        }
        XCTAssertNoThrow(try sdk.strict.setMode(.custom(name: "exempt-search")))
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .custom(name: "exempt-search"))
        XCTAssertThrowsError(try sdk.strict.setPurposes(["ads": .optIn])) {
            XCTAssertEqual($0 as? MesureError, .UnknownPurpose(name: "ads"))
        }
        sdk.close()
        XCTAssertThrowsError(try sdk.strict.setOptedOut(true)) { XCTAssertEqual($0 as? MesureError, .ShutDown) }
        await sdk.closeAndWait()
    }
}
