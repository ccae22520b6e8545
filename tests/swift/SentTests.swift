// Diagnostic.sent: one per upload request, with the visitor id and, hit by
// hit, the event and the exact keys that left; and the dry run, which
// builds and reports the same hits and sends nothing.

import Foundation
import Mesure
import XCTest

final class SentTests: XCTestCase {
    private var collector: Collector!
    private var storage: TempDir!

    override func setUpWithError() throws {
        collector = try Collector.fromEnvironment()
        try collector.reset()
        storage = try TempDir()
    }

    private func start(dryRun: Bool, diagnostics: Diagnostics) throws -> MesureSDK {
        let options = MesureSDK.Options(storageDirectory: storage.url, httpClient: URLSessionHttpClient(), onDiagnostic: diagnostics.callback)
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: self.collector.url, siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000, context: iPhoneContext, dryRun: dryRun)
        }
    }

    private static let exemptScreenKeys = [
        "app_version", "connection_type", "device_brand", "device_model", "device_screen_height", "device_screen_width",
        "device_timestamp_utc", "device_type", "event_collection_platform", "event_collection_version", "event_id", "os",
        "os_version", "page", "page_chapter1", "visitor_privacy_consent", "visitor_privacy_mode",
    ]

    private func sent(_ diagnostics: Diagnostics) -> [Diagnostic] {
        diagnostics.wait { $0.contains { if case .sent = $0 { return true }; return false } }
            .filter { if case .sent = $0 { return true }; return false }
    }

    func testSentReportsWhatLeftWithTheExactKeys() async throws {
        let diagnostics = Diagnostics()
        let sdk = try start(dryRun: false, diagnostics: diagnostics)
        sdk.trackScreen("home", ["page_chapter1": "news", "user_id": "u-1"])
        sdk.trackClick(.navigation, "next")
        let report = try await sdk.flush()
        XCTAssertEqual(report.uploaded, 2, "\(report)")

        let request = try XCTUnwrap(try collector.received().first)
        let events = try XCTUnwrap(request["body"]["events"].array)
        let sentHits = events.map { event in
            SentHit(eventId: event["data"]["event_id"].string ?? "?", event: event["name"].string ?? "?",
                    keys: (event["data"].object ?? [:]).keys.sorted())
        }
        let idclient = try XCTUnwrap(request["query"]["idclient"].string)
        XCTAssertEqual(sent(diagnostics), [.sent(idclient: idclient, hits: sentHits, status: 200, dryRun: false)])
        XCTAssertEqual(sentHits.first?.keys, Self.exemptScreenKeys, "user_id held back in exempt mode")
        XCTAssertEqual(sentHits.last?.event, "click.navigation")
        XCTAssert(sentHits.last?.keys.contains("click") == true)
        await sdk.closeAndWait()
    }

    func testADryRunSendsNothingAndReportsWhatWouldHaveLeft() async throws {
        let diagnostics = Diagnostics()
        let sdk = try start(dryRun: true, diagnostics: diagnostics)
        sdk.trackScreen("home", ["page_chapter1": "news", "user_id": "u-1"])
        let report = try await sdk.flush()
        XCTAssertEqual(report.uploaded, 1, "the hits it would have sent")
        XCTAssertEqual(report.pending, 0)
        XCTAssertEqual(try collector.received().count, 0, "nothing reached the collector")

        let reports = sent(diagnostics)
        XCTAssertEqual(reports.count, 1)
        guard case let .sent(idclient, hits, status, dryRun)? = reports.first else { return XCTFail("\(reports)") }
        XCTAssertTrue(dryRun)
        XCTAssertNil(status, "no answer: nothing was sent")
        XCTAssert(isUUIDv4(idclient), idclient)
        XCTAssertEqual(hits.map(\.event), ["page.display"])
        XCTAssertEqual(hits.first?.keys, Self.exemptScreenKeys)
        await sdk.closeAndWait()
    }
}
