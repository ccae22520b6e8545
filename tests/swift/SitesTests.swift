// Several sites in one app: one instance per site id, each in its own
// directory (Application Support/mesure/<siteId> by default), side by side.
// Concurrency tests: run 20 times under `stress-ng --cpu 2` before commit.

import Foundation
import Mesure
import XCTest

final class SitesTests: XCTestCase {
    private var collector: Collector!

    override func setUpWithError() throws {
        collector = try Collector.fromEnvironment()
        try collector.reset()
    }

    /// Started with the default directory of its site; returns the directory too.
    private func start(site: Int64) throws -> (MesureSDK, URL) {
        let dir = Shared<String>("")
        let sdk = try MesureSDK.start(siteId: site, options: MesureSDK.Options(httpClient: URLSessionHttpClient())) { platform in
            dir.value = platform.storageDir
            return MesureConfig(collectEndpoint: self.collector.url, siteId: platform.siteId, storageDir: platform.storageDir,
                                flushIntervalMs: 3_600_000)
        }
        return (sdk, URL(fileURLWithPath: dir.value, isDirectory: true))
    }

    func testTwoSitesRunSideBySideEachInItsDirectory() async throws {
        // Unique ids: the default directories are real ones (under the test user's Application Support).
        let siteA = Int64.random(in: 100_000_000...900_000_000)
        let siteB = siteA + 1
        let (a, dirA) = try start(site: siteA)
        let (b, dirB) = try start(site: siteB)
        defer {
            try? FileManager.default.removeItem(at: dirA)
            try? FileManager.default.removeItem(at: dirB)
        }
        XCTAssertEqual(dirA.lastPathComponent, String(siteA))
        XCTAssertEqual(dirB.lastPathComponent, String(siteB))
        XCTAssertEqual(dirA.deletingLastPathComponent(), dirB.deletingLastPathComponent())
        XCTAssertEqual(dirA.deletingLastPathComponent().lastPathComponent, "mesure")

        a.setOptedOut(true)
        a.trackScreen("a_home")
        b.trackScreen("b_home")
        async let flushA = a.flush()
        async let flushB = b.flush()
        let (reportA, reportB) = try await (flushA, flushB)
        XCTAssertEqual(reportA.uploaded, 0, "site A's visitor opted out")
        XCTAssertEqual(reportB.uploaded, 1)
        XCTAssertTrue(a.state.isOptedOut)
        XCTAssertFalse(b.state.isOptedOut, "a choice is per site")

        let received = try collector.received()
        XCTAssertEqual(received.map { $0["query"]["s"].string }, [String(siteB)])
        XCTAssertEqual(received.first?["body"]["events"].array?.first?["data"]["page"].string, "b_home")
        let permissions = try FileManager.default.attributesOfItem(atPath: dirA.path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(permissions?.intValue, 0o700)

        // One instance per site: a second one for site A is refused by start.
        XCTAssertThrowsError(try start(site: siteA)) {
            XCTAssertEqual($0 as? MesureError, .StorageInUse(dir: dirA.path))
        }
        await a.closeAndWait()
        await b.closeAndWait()
    }
}
