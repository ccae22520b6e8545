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
            guard case let .invalidConfig(got, _) = error else {
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

    /// The cases are lower camel case, and each prints the core's sentence.
    func testCasesAreLowerCamelAndPrintSentences() {
        let cases: [(MesureError, String, String)] = [
            (.invalidConfig(field: "site_id", reason: "must be a positive integer"), "invalidConfig",
             "invalid configuration: site_id: must be a positive integer"),
            (.trackRefused(reason: "empty_name", message: "the page name is empty"), "trackRefused", "the page name is empty"),
            (.unknownMode(name: "exempt-nope"), "unknownMode", "unknown visitor mode \"exempt-nope\""),
            (.unknownPurpose(name: "ads"), "unknownPurpose", "unknown purpose \"ads\": list it in the configuration's purposes"),
            (.storage(detail: "disk full"), "storage", "storage error: disk full"),
            (.shutDown, "shutDown", "the SDK is shut down"),
            (.timeout, "timeout", "the SDK's background thread did not answer in time"),
            (.storageInUse(dir: "/d"), "storageInUse", "the storage directory /d is in use by another Mesure instance"),
            (.thread(detail: "EAGAIN"), "thread", "could not start the SDK's background thread: EAGAIN"),
            (.httpClient(detail: "tls"), "httpClient", "could not start the HTTP client: tls"),
            (.calledFromSdkThread(operation: "flush"), "calledFromSdkThread", "flush cannot be called from the SDK's own threads"),
        ]
        for (error, name, sentence) in cases {
            // The case's name, for the cases with values (`.shutDown` and `.timeout` compile above).
            if let label = Mirror(reflecting: error).children.first?.label {
                XCTAssertEqual(label, name)
            }
            XCTAssertEqual(error.errorDescription, sentence)
            XCTAssertEqual(error.localizedDescription, sentence)
            XCTAssertEqual(String(describing: error), sentence)
            XCTAssertEqual(error.description, sentence)
        }
        XCTAssertEqual(String(reflecting: MesureError.shutDown), "the SDK is shut down")
    }

    /// A setter returns at once; its error reaches `onError`, and the
    /// published state does not move.
    func testAnUnknownModeReachesOnError() async throws {
        let errors = Inbox<MesureError>()
        var options = MesureSDK.Options(httpClient: CapturingClient())
        options.onError = { errors.put($0) }
        let search = CustomMode(name: "exempt-search", allowedEvents: ["search.*"])
        let sdk = try start(customModes: [search], options: options)
        sdk.setMode(.custom(name: "exempt-nope"))
        try await sdk.awaitApplied()
        XCTAssertEqual(errors.wait(for: 1), [.unknownMode(name: "exempt-nope")])
        XCTAssertEqual(sdk.state.mode, .exempt, "a refused mode is not published")
        sdk.setMode(.custom(name: "exempt-search"))
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .custom(name: "exempt-search"))
        XCTAssertEqual(errors.all.count, 1)
        sdk.setPurpose("ads", .optIn)
        try await sdk.awaitApplied()
        XCTAssertEqual(errors.wait(for: 2).last, .unknownPurpose(name: "ads"))
        await sdk.shutdown()
    }

    /// Strict calls wait for their turn and throw instead.
    func testStrictSettersThrow() async throws {
        let sdk = try start(customModes: [CustomMode(name: "exempt-search")])
        XCTAssertThrowsError(try sdk.strict.setMode(.custom(name: "exempt-nope"))) {
            XCTAssertEqual($0 as? MesureError, .unknownMode(name: "exempt-nope"))
        }
        XCTAssertNoThrow(try sdk.strict.setMode(.custom(name: "exempt-search")))
        XCTAssertEqual(sdk.state.mode, .custom(name: "exempt-search"), "applied and published when the call returns")
        XCTAssertThrowsError(try sdk.strict.setPurposes(["ads": .optIn])) {
            XCTAssertEqual($0 as? MesureError, .unknownPurpose(name: "ads"))
        }
        sdk.close()
        XCTAssertThrowsError(try sdk.strict.setOptedOut(true)) { XCTAssertEqual($0 as? MesureError, .shutDown) }
        await sdk.shutdown()
    }

    /// A directory that cannot be created fails the start on the SDK's
    /// queue: a storage error in the state, thrown by waiting calls.
    func testAStorageDirectoryThatCannotBeCreatedIsAStorageError() async throws {
        let file = storage.url.appendingPathComponent("not-a-dir")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8)))
        let sdk = try MesureSDK.start(collectEndpoint: "https://collect.example.test", siteId: 42,
                                      options: MesureSDK.Options(storageDirectory: file.appendingPathComponent("mesure")))
        do {
            try await sdk.awaitApplied()
            XCTFail("started on a file")
        } catch let error as MesureError {
            guard case .storage = error else { return XCTFail("\(error)") }
            XCTAssertEqual(sdk.state.error, error)
            XCTAssert(error.errorDescription?.hasPrefix("storage error: ") == true, error.errorDescription ?? "")
        }
        XCTAssertFalse(sdk.state.ready)
        await sdk.shutdown()
    }
}
