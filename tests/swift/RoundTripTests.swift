// Real uploads to the loopback collector process: through URLSession (the
// iOS path) and through the Rust client of desktop builds.

import Foundation
import Mesure
import MesureBindings
import XCTest

final class RoundTripTests: XCTestCase {
    private var collector: Collector!
    private var storage: TempDir!

    override func setUpWithError() throws {
        collector = try Collector.fromEnvironment()
        try collector.reset()
        storage = try TempDir()
    }

    /// Exempt mode, a `user_id` among the properties: the collector gets the
    /// exempt fields and nothing else.
    func testURLSessionClientDeliversExactlyTheExemptFields() async throws {
        let options = MesureSDK.Options(storageDirectory: storage.url, httpClient: URLSessionHttpClient())
        let sdk = try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: self.collector.url, siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000, context: iPhoneContext)
        }
        let before = Date().timeIntervalSince1970

        let userId: String = "u-123"
        sdk.trackScreen("home", ["user_id": userId, "page_chapter1": "news"])
        let report = try await sdk.flush()
        await sdk.closeAndWait()
        XCTAssertEqual(sdk.state.mode, .exempt)
        XCTAssertEqual(report.uploaded, 1, "\(report)")
        XCTAssertEqual(report.pending, 0)

        let received = try collector.received()
        XCTAssertEqual(received.count, 1, "\(received)")
        let request = try XCTUnwrap(received.first)
        XCTAssertEqual(request["method"].string, "POST")
        XCTAssertEqual(request["path"].string, "/event")
        XCTAssertEqual(request["query"]["s"].string, "42")
        let idclient = try XCTUnwrap(request["query"]["idclient"].string)
        XCTAssert(isUUIDv4(idclient), "idclient \(idclient) is not a v4 UUID")
        XCTAssertEqual(request["headers"]["content-type"].string, "application/json")
        XCTAssert(request["headers"]["cookie"].isNull, "a cookie was sent")
        XCTAssertEqual(request["headers"]["user-agent"].string, "Mesure", "URLSession's default User-Agent names the app and OS")

        let events = try XCTUnwrap(request["body"]["events"].array)
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events.first?["name"].string, "page.display")
        let data = try XCTUnwrap(events.first?["data"].object)
        XCTAssertEqual(Set(data.keys), [
            "app_version", "connection_type", "device_brand", "device_model", "device_screen_height",
            "device_screen_width", "device_timestamp_utc", "device_type", "event_collection_platform",
            "event_collection_version", "os", "os_version", "page", "page_chapter1", "visitor_privacy_mode",
            "visitor_privacy_consent", "event_id",
        ])
        XCTAssertNil(data["user_id"], "user_id left the device in exempt mode")
        XCTAssertEqual(data["page"]?.string, "home")
        XCTAssertEqual(data["page_chapter1"]?.string, "news")
        XCTAssertEqual(data["visitor_privacy_mode"]?.string, "exempt")
        XCTAssertEqual(data["visitor_privacy_consent"]?.bool, false)
        XCTAssertEqual(data["event_collection_version"]?.string, sdkVersion())
        XCTAssertEqual(data["event_collection_platform"]?.string, "ios")
        XCTAssertEqual(data["os"]?.string, "ios")
        XCTAssertEqual(data["device_model"]?.string, "iPhone17,1")
        XCTAssertEqual(data["device_screen_width"]?.int, 1206)
        XCTAssert(isUUIDv4(data["event_id"]?.string ?? ""), "event_id")
        let sent = try XCTUnwrap(data["device_timestamp_utc"]?.number)
        XCTAssert(abs(sent - before) < 60, "device_timestamp_utc \(sent) is not now (\(before))")
        XCTAssertEqual(try XCTUnwrap(received.first)["acknowledged"].bool, true)
    }

    /// No `httpClient`: the Rust client of desktop builds uploads.
    func testBuiltInRustClientDelivers() throws {
        XCTAssertTrue(hasBuiltinHttpClient(), "the host library is a desktop build")
        let recorder = Recorder()
        let mesure = try MesureCore(
            config: MesureConfig(collectEndpoint: collector.url, siteId: 7, storageDir: storage.path, flushIntervalMs: 3_600_000),
            listener: recorder
        )
        defer { try? mesure.shutdown() }
        try mesure.setMode(mode: .optIn)
        _ = mesure.track(name: "search.query", properties: ["search_term": "bike", "user_id": "u-123"])
        let report = try mesure.flush()
        XCTAssertEqual(report.uploaded, 1, "\(report)")

        let received = try collector.received()
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first?["query"]["s"].string, "7")
        XCTAssert(isUUIDv4(received.first?["query"]["idclient"].string ?? ""))
        let data = try XCTUnwrap(received.first?["body"]["events"].array?.first?["data"])
        XCTAssertEqual(data["visitor_privacy_mode"].string, "optin")
        XCTAssertEqual(data["visitor_privacy_consent"].bool, true)
        // With consent the identifying property goes: the mode decides, not the client.
        XCTAssertEqual(data["user_id"].string, "u-123")
        XCTAssertEqual(data["search_term"].string, "bike")
        XCTAssertEqual(data["event_collection_platform"].string, "rust", "no context given: the core's default")
    }
}
