// The debug log (issue 16, leak 12): the core's lines, one per event, the
// site first, never a property value, the visitor id shortened; off in a
// release build unless forced by name.

import Foundation
@testable import Mesure
import XCTest

final class DebugLogTests: XCTestCase {
    private var storage: TempDir!

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(_ log: Inbox<String>, client: CapturingClient, release: Bool = false, forced: Bool = false) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: storage.url, httpClient: client)
        options.debugLog = true
        options.releaseBuild = release
        options.debugLogInReleaseBuild = forced
        options.logSink = { log.put($0) }
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000, context: iPhoneContext)
        }
    }

    func testLinesComeFromTheCoreAndCarryNoValueNorId() async throws {
        let log = Inbox<String>()
        let client = CapturingClient()
        let sdk = try start(log, client: client)
        sdk.trackScreen("jane.doe@example.com", ["user_id": "u-1"])
        sdk.setConsent(true)
        _ = try await sdk.flush()
        await sdk.closeAndWait()
        let lines = log.all
        let idclient = try XCTUnwrap(client.requests.first.flatMap { URLComponents(string: $0.url)?.queryItems?.first { $0.name == "idclient" }?.value })
        XCTAssert(lines.allSatisfy { $0.hasPrefix("[mesure 42] ") }, "\(lines)")
        XCTAssert(lines.contains("[mesure 42] visitor mode exempt -> optin (set_by_app, epoch 1)"), "\(lines)")
        XCTAssert(lines.contains { $0.contains("sent 1 hit(s) for idclient \(idclient.prefix(4))…") }, "\(lines)")
        for secret in ["jane.doe", "u-1", idclient] {
            XCTAssertFalse(lines.contains { $0.contains(secret) }, "\(secret) in \(lines)")
        }
    }

    func testAReleaseBuildKeepsItOffUnlessForcedByName() async throws {
        let log = Inbox<String>()
        let sdk = try start(log, client: CapturingClient(), release: true)
        sdk.trackScreen("home")
        _ = try await sdk.flush()
        await sdk.closeAndWait()
        XCTAssertEqual(log.all.count, 1, "\(log.all)")
        XCTAssert(log.all.first?.contains("off in a release build") == true)

        let forced = Inbox<String>()
        let again = try start(forced, client: CapturingClient(), release: true, forced: true)
        again.trackScreen("home")
        _ = try await again.flush()
        await again.closeAndWait()
        XCTAssert(forced.all.contains { $0.contains("sent 1 hit(s)") }, "\(forced.all)")
    }
}
