// What an app writes with `import Mesure` alone: module-qualified names
// (no type is named `Mesure`, which would hide the module), ordinary Swift
// values as properties, and values that print as their wire names. Mostly
// a compile-time test: if it builds, the surface holds; the run checks what
// the values became.

import Foundation
import Mesure
import XCTest

final class ApiSurfaceTests: XCTestCase {
    func testModuleQualifiedNamesCompileAndPrintWell() {
        let mode: Mesure.VisitorMode = .exempt
        let purpose: Mesure.PurposeMode = .optIn
        let error: Mesure.MesureError = .UnknownMode(name: "x")
        let state: Mesure.MesureState = Mesure.MesureState(mode: mode, epoch: 0, run: .running)
        let kind: Mesure.ClickKind = .navigation
        let value: Mesure.PropertyValue = "text"
        let options: Mesure.MesureSDK.Options = .init(httpClient: nil)
        let config: Mesure.MesureConfig? = nil
        let diagnostic: Mesure.Diagnostic? = nil
        _ = (kind, value, options, config, diagnostic)
        XCTAssertEqual("\(mode)", "exempt", "not MesureBindings.VisitorMode.exempt")
        XCTAssertEqual(String(reflecting: mode), "exempt")
        XCTAssertEqual("\(purpose)", "opt-in")
        XCTAssertEqual("\(state.mode)", "exempt")
        XCTAssertEqual("\(error)", "unknown visitor mode \"x\"")
        XCTAssertFalse(Mesure.MesureSDK.version.isEmpty)
    }

    func testOrdinaryValuesWorkAsProperties() async throws {
        let storage = try TempDir()
        let sent = Diagnostics()
        let options = MesureSDK.Options(storageDirectory: storage.url, httpClient: nil, onDiagnostic: sent.callback)
        let sdk = try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000, dryRun: true)
        }
        try sdk.strict.setMode(.optIn)

        let title = "Breaking"
        let words = 1200
        let ratio: Float = 0.25
        let published = Date(timeIntervalSince1970: 1_772_532_000)
        let tags = ["politics", "europe"]
        let subtitle: String? = nil
        let author: String? = "Ann"
        let shares: UInt8 = 3
        sdk.trackScreen("article", ["title": title, "words": words, "ratio": ratio, "published": published, "tags": tags,
                                    "subtitle": subtitle, "author": author, "shares": shares, "premium": true])
        var properties: [String: Any?] = ["source": "push"]
        properties["campaign"] = "winter"
        sdk.trackClick(.action, "share", properties)
        _ = try await sdk.flush()
        let reports = sent.wait { $0.contains { if case .sent = $0 { return true }; return false } }
        guard case let .sent(_, hits, _, true)? = reports.first(where: { if case .sent = $0 { return true }; return false }) else {
            return XCTFail("no dry-run report: \(reports)")
        }
        let keys = Set(hits.first?.keys ?? [])
        for key in ["title", "words", "ratio", "published", "tags", "author", "shares", "premium"] {
            XCTAssert(keys.contains(key), "\(key) did not leave: \(keys.sorted())")
        }
        XCTAssertFalse(keys.contains("subtitle"), "a nil optional is left out")
        XCTAssert(Set(hits.last?.keys ?? []).isSuperset(of: ["source", "campaign", "click"]))
        XCTAssertEqual(sent.withoutSent, [], "nothing was dropped or refused")
        await sdk.closeAndWait()
    }
}
