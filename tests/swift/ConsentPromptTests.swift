// The consent prompt through the wrapper (issue 19): an answer given in a
// prompt leaves a receipt naming it, a prompt named with a person's data is
// refused, and with a consent endpoint the receipts and the anonymous
// consent statistics reach it apart, until the visitor switches the
// statistics off.

import Foundation
@testable import Mesure
import XCTest

final class ConsentPromptTests: XCTestCase {
    private var collector: Collector!
    private var storage: TempDir!

    private let banner = ConsentContext(promptId: "main_banner", promptVersion: "2026-12", locale: "fr-FR")
    private let settingsScreen = ConsentContext(promptId: "settings_screen", promptVersion: "3")
    private let bannerJSON = JSON.object(["prompt_id": .string("main_banner"), "prompt_version": .string("2026-12"), "locale": .string("fr-FR")])

    override func setUpWithError() throws {
        collector = try Collector.fromEnvironment()
        try collector.reset()
        storage = try TempDir()
    }

    private func start(consentEndpoint: Bool = false, diagnostics: Diagnostics? = nil,
                       onError: (@Sendable (MesureError) -> Void)? = nil) throws -> MesureSDK {
        let options = MesureSDK.Options(storageDirectory: storage.url, httpClient: URLSessionHttpClient(),
                                        onDiagnostic: diagnostics?.callback, onError: onError)
        let consent = consentEndpoint ? ConsentSettings(endpoint: collector.url + "/consent") : nil
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: self.collector.url, siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000, context: iPhoneContext, consent: consent)
        }
    }

    /// What reached the consent endpoint, oldest first, of one `type` (all when nil).
    private func consentRequests(_ type: String? = nil) throws -> [JSON] {
        try collector.received().filter { $0["path"].string == "/consent" && (type == nil || $0["body"]["type"].string == type) }
    }

    private static func isConsentSent(_ d: Diagnostic) -> Bool {
        if case .consentSent = d { return true }
        return false
    }

    private static func field(_ error: MesureError) -> String {
        if case let .InvalidConfig(field, _) = error { return field }
        return "\(error)"
    }

    func testAnAnswerInAPromptLeavesAReceiptNamingIt() async throws {
        let sdk = try start()
        sdk.setConsent(true, prompt: banner)
        sdk.setPurposes(["audience_measurement": .essential], prompt: settingsScreen)
        sdk.setMode(.optOut, prompt: settingsScreen)
        sdk.setOptedOut(false)
        let proof = try JSON.parse(try await sdk.consentProof())
        XCTAssertEqual(proof["chain"], .string("intact"))
        let receipts = try XCTUnwrap(proof["receipts"].array)
        XCTAssertEqual(receipts.map { $0["mode"].string }, ["optin", "exempt", "optout", "exempt"])
        XCTAssertEqual(receipts.map { $0["n"].int }, [1, 2, 3, 4])
        XCTAssertEqual(receipts.first?["prompt"], bannerJSON)
        XCTAssertEqual(receipts.dropFirst().first?["prompt"],
                       .object(["prompt_id": .string("settings_screen"), "prompt_version": .string("3")]), "no locale given, none written")
        XCTAssertEqual(receipts.last?["prompt"], .null, "the switch is no prompt")
        XCTAssert(receipts.allSatisfy { $0["consent_id"] == proof["consent_id"] }, "\(receipts)")
        // The same receipts in the export (right of access).
        let export = try JSON.parse(try await sdk.exportLocalData())
        XCTAssertEqual(export["consent_receipts"], proof["receipts"])
        await sdk.closeAndWait()
    }

    func testAPromptNamedWithAnEmailAddressIsRefusedAndRecordsNothing() async throws {
        let errors = Inbox<MesureError>()
        let sdk = try start(onError: { errors.put($0) })
        let bad = ConsentContext(promptId: "jane.doe@example.com", promptVersion: "2026-12")
        sdk.setConsent(true, prompt: bad)
        sdk.setMode(.optIn, prompt: bad)
        sdk.setPurposes(["audience_measurement": .optIn], prompt: bad)
        sdk.consentPromptShown(bad)
        sdk.setConsent(true, prompt: ConsentContext(promptId: "main_banner", promptVersion: "2026-12", locale: "fr_FR"))
        XCTAssertEqual(errors.all.map(Self.field),
                       ["prompt.prompt_id", "prompt.prompt_id", "prompt.prompt_id", "prompt.prompt_id", "prompt.locale"])
        // The strict calls throw it.
        XCTAssertThrowsError(try sdk.strict.setConsent(true, prompt: bad)) { error in
            XCTAssertEqual((error as? MesureError).map(Self.field), "prompt.prompt_id")
        }
        XCTAssertThrowsError(try sdk.strict.consentPromptShown(bad))

        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .exempt, "no answer applied")
        let proof = try JSON.parse(try await sdk.consentProof())
        XCTAssertEqual(proof["chain"], .string("intact"))
        XCTAssertEqual(proof["receipts"], .array([]))
        let export = try JSON.parse(try await sdk.exportLocalData())
        XCTAssertEqual(export["consent_statistics"]["unsent"], .array([]))
        await sdk.closeAndWait()
    }

    /// `MesureStateModel`'s driver passes the prompt, and keeps its refusal as `lastError`.
    func testTheStateModelPassesThePrompt() throws {
        let sdk = try start()
        let banner = self.banner
        MainActor.assumeIsolated {
            let driver = ModelDriver(sdk: sdk, hop: { _ in })
            driver.setConsent(true, prompt: ConsentContext(promptId: "jane.doe@example.com", promptVersion: "1"))
            XCTAssertEqual(driver.logic.lastError.map(Self.field), "prompt.prompt_id")
            driver.setConsent(true, prompt: banner)
            XCTAssertNil(driver.logic.lastError)
        }
        let proof = try JSON.parse(try blocking { try await sdk.consentProof() })
        XCTAssertEqual(proof["receipts"].array?.count, 1)
        XCTAssertEqual(proof["receipts"].array?.first?["prompt"], bannerJSON)
        try blocking { await sdk.closeAndWait() }
    }

    func testReceiptsAndStatisticsReachTheConsentEndpointApartWithoutAnyVisitorId() async throws {
        let diagnostics = Diagnostics()
        let sdk = try start(consentEndpoint: true, diagnostics: diagnostics)
        sdk.consentPromptShown(banner)
        sdk.setConsent(true, prompt: banner)
        sdk.trackScreen("home")
        _ = try await sdk.flush()
        let export = try JSON.parse(try await sdk.exportLocalData())
        let visitor = try XCTUnwrap(export["visitor_id"]["id"].string)

        let consent = try consentRequests()
        let receipts = consent.filter { $0["body"]["type"].string == "consent_receipts" }
        let statistics = consent.filter { $0["body"]["type"].string == "consent_statistics" }
        XCTAssertEqual([receipts.count, statistics.count, consent.count], [1, 1, 2], "one request of each kind: \(consent)")
        let sentReceipts = try XCTUnwrap(receipts.first?["body"]["receipts"].array)
        XCTAssertEqual(sentReceipts.count, 1)
        let receipt = try XCTUnwrap(sentReceipts.first)
        XCTAssertEqual(receipt["mode"], .string("optin"))
        XCTAssertEqual(receipt["prompt"], bannerJSON)
        let proof = try JSON.parse(try await sdk.consentProof())
        XCTAssertEqual(proof["receipts"].array?.first, receipt)

        let counts = try XCTUnwrap(statistics.first?["body"]["counts"].array)
        XCTAssertEqual(counts.count, 1)
        let row = try XCTUnwrap(counts.first)
        XCTAssertEqual(row.object.map { Set($0.keys) },
                       ["day", "prompt_id", "prompt_version", "shown", "accepted_all", "refused_all", "customised"],
                       "counts, a day and a prompt: nothing else")
        XCTAssertEqual([row["prompt_id"].string, row["prompt_version"].string], ["main_banner", "2026-12"])
        XCTAssertEqual(["shown", "accepted_all", "refused_all", "customised"].map { row[$0].int }, [1, 1, 0, 0])
        XCTAssertEqual(row["day"].string, receipt["at"].string.map { String($0.prefix(10)) })
        let statisticsBody = statistics.first?["body"].description ?? ""
        XCTAssertFalse(statisticsBody.contains("consent_id"), statisticsBody)
        XCTAssertFalse(statisticsBody.contains(receipt["consent_id"].string ?? "no consent id"), "a consent-proof id among the counts")
        for request in consent {
            XCTAssertFalse(request["body"].description.contains(visitor), "the visitor id left for the consent endpoint")
        }

        let reports = diagnostics.wait { $0.filter(Self.isConsentSent).count >= 2 }.filter(Self.isConsentSent)
        XCTAssertEqual(reports, [.consentSent(kind: "receipts", count: 1, status: 200, held: nil),
                                 .consentSent(kind: "statistics", count: 1, status: 200, held: nil)])
        await sdk.closeAndWait()
    }

    func testAfterTheVisitorSwitchesThemOffNoStatisticsLeave() async throws {
        var sdk = try start(consentEndpoint: true)
        sdk.consentPromptShown(banner)
        _ = try await sdk.flush()
        XCTAssertEqual(try consentRequests("consent_statistics").count, 1, "counted and sent while on")

        sdk.setConsentStatistics(false)
        sdk.consentPromptShown(banner)
        sdk.setConsent(true, prompt: banner)
        _ = try await sdk.flush()
        let export = try JSON.parse(try await sdk.exportLocalData())["consent_statistics"]
        XCTAssertEqual(export["off"], .bool(true))
        XCTAssertEqual(export["unsent"], .array([]))
        await sdk.closeAndWait()

        // Kept across a restart.
        sdk = try start(consentEndpoint: true)
        sdk.consentPromptShown(banner)
        sdk.setConsent(false, prompt: banner)
        _ = try await sdk.flush()
        await sdk.closeAndWait()
        let consent = try consentRequests()
        let statistics = consent.filter { $0["body"]["type"].string == "consent_statistics" }
        let receipts = consent.filter { $0["body"]["type"].string == "consent_receipts" }
        XCTAssertEqual(statistics.count, 1, "no statistics after the opt-out: \(consent)")
        XCTAssertEqual(receipts.count, 2, "the answers' receipts still leave")
    }
}
