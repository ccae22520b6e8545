// What the app's values become (the conversion table of docs/PROPERTIES.md,
// the same cases as Kotlin's TrackingTest), and bad input through every
// track* call: nothing throws, nothing blocks, and the exact diagnostics
// arrive (the rules and limits table of ios/README.md). Strict calls throw
// the same refusals.

import Foundation
@testable import Mesure
import MesureBindings
import XCTest

final class TrackingInputTests: XCTestCase {
    private var storage: TempDir!
    private let client = CapturingClient()

    override func setUpWithError() throws {
        storage = try TempDir()
    }

    private func start(_ diagnostics: Diagnostics? = nil, strict: Bool = false,
                       strictFailure: (@Sendable (MesureError) -> Void)? = nil) throws -> MesureSDK {
        var options = MesureSDK.Options(storageDirectory: storage.url, httpClient: client, onDiagnostic: diagnostics?.callback, strict: strict)
        options.strictFailure = strictFailure
        return try MesureSDK.start(siteId: 42, options: options) { platform in
            MesureConfig(collectEndpoint: "https://collect.example.test", siteId: platform.siteId, storageDir: platform.storageDir,
                         flushIntervalMs: 3_600_000)
        }
    }

    private static let unsupported = "cannot be sent: use text, a number, a boolean, a date or a list of one of those"

    private func refused(_ event: String, _ reason: String, _ message: String) -> Diagnostic {
        .trackRefused(event: event, reason: reason, message: message)
    }

    private func dropped(_ event: String, _ property: String, _ reason: String, _ explanation: String) -> Diagnostic {
        .dropped(mode: "optin", event: event, property: property, reason: reason, explanation: explanation)
    }

    func testBadInputThroughEveryTrackCallIsReportedNeverThrown() async throws {
        let diagnostics = Diagnostics()
        let sdk = try start(diagnostics)
        // Opt-in: the mode holds nothing back, so only the input rules speak.
        try sdk.strict.setMode(.optIn)

        var many: [String: Any?] = [:]
        for i in 0..<501 { many["p\(i)"] = i }
        let missing: String? = nil
        let link = URL(fileURLWithPath: "/tmp/article")
        let long = String(repeating: "é", count: 100_000)

        sdk.track("Bad Name")
        sdk.track("")
        sdk.trackScreen("")
        sdk.trackScreen("   ")
        sdk.trackClick(.action, "")
        sdk.track("list.viewed", many)
        sdk.trackScreen("home", many)
        sdk.trackClick(.navigation, "next", many)
        sdk.track("dup.event", ["Title": "a", "title": "b"])
        sdk.trackScreen("home", ["Title": "a", "title": "b"])
        sdk.trackClick(.download, "pdf", ["Title": "a", "title": "b"])
        sdk.track("ratio.computed", ["ratio": Double.nan])
        sdk.trackScreen("stats", ["ratio": Double.infinity])
        sdk.trackClick(.exit, "out", ["ratios": [1.0, -Double.infinity]])
        sdk.track("long.text", ["body": long])
        sdk.trackScreen("article", ["link": link])
        sdk.trackClick(.action, "share", ["link": link, "missing": missing])
        sdk.track("with.nil", ["missing": missing, "kept": "x"])
        // Refusals are reported by the call, drops by the storage thread: each
        // kind arrives in call order, the two kinds interleaved as it happens.
        let refusals: [Diagnostic] = [
            refused("Bad Name", "invalid_event_name", "invalid event name \"Bad Name\": must start with a lower-case letter"),
            refused("", "invalid_event_name", "invalid event name \"\": empty"),
            refused("page.display", "empty_name", "the page name is empty"),
            refused("page.display", "empty_name", "the page name is empty"),
            refused("click.action", "empty_name", "the click name is empty"),
            refused("list.viewed", "too_many_properties", "501 properties in one event; at most 100 are accepted"),
            refused("page.display", "too_many_properties", "502 properties in one event; at most 100 are accepted"),
            refused("click.navigation", "too_many_properties", "502 properties in one event; at most 100 are accepted"),
            refused("dup.event", "duplicate_property", "property \"title\" appears twice once keys are lower-cased"),
            refused("page.display", "duplicate_property", "property \"title\" appears twice once keys are lower-cased"),
            refused("click.download", "duplicate_property", "property \"title\" appears twice once keys are lower-cased"),
        ]
        let drops: [Diagnostic] = [
            dropped("ratio.computed", "ratio", "non_finite_number", "NaN or infinite numbers cannot be sent"),
            dropped("page.display", "ratio", "non_finite_number", "NaN or infinite numbers cannot be sent"),
            dropped("click.exit", "ratios", "non_finite_number", "NaN or infinite numbers cannot be sent"),
            dropped("long.text", "body", "truncated", "value cut to the length limits"),
            dropped("page.display", "link", "unsupported_value", "a value of type URL \(Self.unsupported)"),
            dropped("click.action", "link", "unsupported_value", "a value of type URL \(Self.unsupported)"),
        ]
        try await sdk.awaitApplied()
        let all = diagnostics.wait { $0.count >= refusals.count + drops.count }
        XCTAssertEqual(all.filter { if case .trackRefused = $0 { return true }; return false }, refusals)
        XCTAssertEqual(all.filter { if case .dropped = $0 { return true }; return false }, drops)
        XCTAssertEqual(diagnostics.withoutSent.count, refusals.count + drops.count, "nothing else: \(diagnostics.withoutSent)")

        // What was kept went through, cut where it had to be.
        let report = try await sdk.flush()
        XCTAssertEqual(report.uploaded, 7, "\(report)")
        let events = try client.requests.flatMap { try JSON.parse($0.body)["events"].array ?? [] }
        XCTAssertEqual(events.map { $0["name"].string ?? "?" },
                       ["ratio.computed", "page.display", "click.exit", "long.text", "page.display", "click.action", "with.nil"])
        XCTAssertEqual(events[3]["data"]["body"].string, String(repeating: "é", count: 1000), "cut to 1000 characters")
        let withNil = try XCTUnwrap(events[6]["data"].object)
        XCTAssertEqual(withNil["kept"]?.string, "x")
        XCTAssertNil(withNil["missing"], "a nil value is left out")
        XCTAssertNil(events[5]["data"]["link"].string)
        let accepted = try await sdk.stats().accepted
        XCTAssertEqual(accepted, 7)
        await sdk.closeAndWait()
    }

    /// The strict face of the same calls: waits, then throws the refusal.
    func testStrictCallsThrowTrackRefused() async throws {
        let sdk = try start()
        XCTAssertThrowsError(try sdk.strict.track("Bad Name")) {
            XCTAssertEqual($0 as? MesureError, .TrackRefused(reason: "invalid_event_name",
                                                             explanation: "invalid event name \"Bad Name\": must start with a lower-case letter"))
        }
        XCTAssertThrowsError(try sdk.strict.trackScreen(" ")) {
            XCTAssertEqual($0 as? MesureError, .TrackRefused(reason: "empty_name", explanation: "the page name is empty"))
        }
        XCTAssertThrowsError(try sdk.strict.trackClick(.action, "share", ["link": URL(fileURLWithPath: "/tmp")])) {
            XCTAssertEqual($0 as? MesureError, .TrackRefused(reason: "unsupported_value",
                                                             explanation: "property \"link\": a value of type URL \(Self.unsupported)"))
            XCTAssertEqual(($0 as? MesureError)?.localizedDescription, "property \"link\": a value of type URL \(Self.unsupported)")
        }
        var many: [String: Any?] = [:]
        for i in 0..<101 { many["p\(i)"] = "v" }
        XCTAssertThrowsError(try sdk.strict.track("big.event", many)) {
            XCTAssertEqual($0 as? MesureError, .TrackRefused(reason: "too_many_properties",
                                                             explanation: "101 properties in one event; at most 100 are accepted"))
        }
        guard case .queued = try sdk.strict.trackScreen("home") else { return XCTFail("a valid screen is queued") }
        guard case let .notSent(reason) = try sdk.strict.track("custom.event") else { return XCTFail("exempt holds it back") }
        XCTAssertEqual(reason, "event_not_allowed_in_mode")
        let accepted = try await sdk.stats().accepted
        XCTAssertEqual(accepted, 1, "only the valid screen was queued")
        sdk.close()
        XCTAssertThrowsError(try sdk.strict.trackScreen("home")) { XCTAssertEqual($0 as? MesureError, .ShutDown) }
        await sdk.closeAndWait()
    }

    /// `Options.strict`: the ordinary calls wait for the start, and a
    /// refusal goes to the strict failure (by default `assertionFailure`).
    func testTheStrictOptionWaitsAndStopsOnARefusal() async throws {
        let failures = Inbox<MesureError>()
        let sdk = try start(strict: true, strictFailure: { failures.put($0) })
        sdk.setOptedOut(true)
        try await sdk.awaitApplied()
        XCTAssertEqual(sdk.state.mode, .optOut)
        sdk.trackScreen("")
        XCTAssertEqual(failures.all, [.TrackRefused(reason: "empty_name", explanation: "the page name is empty")],
                       "reported before the call returned")
        sdk.setMode(.custom(name: "nope"))
        XCTAssertEqual(failures.all.last, .UnknownMode(name: "nope"))
        await sdk.closeAndWait()
    }

    // MARK: The conversion table (tests/vectors/property_conversions.json)

    /// An app's enum that converts itself.
    private enum Section: String, PropertyConvertible {
        case news, sport
        var mesurePropertyValue: PropertyValue? { .text(value: rawValue) }
    }

    /// An app type with nothing to send.
    private struct Nothing: PropertyConvertible {
        var mesurePropertyValue: PropertyValue? { nil }
    }

    /// The Swift value of each case of the table that names a Swift type.
    private func tableInputs() -> [String: Any?] {
        [
            "text": "héllo",
            "substring": "abc".dropFirst(),
            "int8": Int8(-8),
            "int16": Int16(-300),
            "int32": Int32.max,
            "int64": Int64.min,
            "int_exact": 9_007_199_254_740_993,
            "uint8": UInt8(255),
            "uint16": UInt16.max,
            "uint32": UInt32.max,
            "uint64_fits": UInt64(Int64.max),
            "uint64_above": UInt64.max,
            "uint_above": UInt(Int64.max) + 1,
            "double": 0.1,
            "double_infinite": -Double.infinity,
            "float_tenth": Float(0.1),
            "float_third": Float(1) / 3,
            "float_large": Float(1.1884683e13),
            "float_max": Float.greatestFiniteMagnitude,
            "float_min": Float.leastNonzeroMagnitude,
            "float_nan": Float.nan,
            "cgfloat": CGFloat(0.5),
            "bool": true,
            "date": Date(timeIntervalSince1970: 1_772_532_000.5),
            "instant": Date(timeIntervalSince1970: -1.5),
            "date_rounded_down": Date(timeIntervalSince1970: -0.0004),
            "date_out_of_range": Date(timeIntervalSince1970: 1e17),
            "null": String?.none,
            "property_value": PropertyValue.integer(value: 9),
            "convertible": Section.news,
            "convertible_null": Nothing(),
            "list_text": ["b", "a"],
            "list_with_nulls": ["a", nil, "b"] as [String?],
            "list_integers": [1, Int64(2), Int16(3)] as [Any],
            "list_numbers": [1, 2.5] as [Any],
            "list_floats": [Float(0.1), 0.25],
            "list_uint64_above": [UInt64(1), .max],
            "list_bools": [true, false],
            "list_dates": [Date(timeIntervalSince1970: 1_772_532_000)],
            "list_empty": [Int](),
            "list_convertibles": [Section.news, .sport],
            "list_property_values": [PropertyValue.integer(value: 1), .decimal(value: 0.5)],
            "list_mixed": ["a", 1] as [Any],
            "list_nested": [[1, 2], [3, 4]],
            "set_text": Set(["b", "a", "c"]),
            "set_code_points": Set(["z", "\u{1F600}", "\u{FF21}", "\u{E9}"]),
            "set_integers": Set([3, -1, 2]),
            "set_decimals": Set([2.5, -0.5, 1.0]),
            "set_bools": Set([true, false]),
            "set_dates": Set([Date(timeIntervalSince1970: 1_772_532_001), Date(timeIntervalSince1970: 1_772_532_000)]),
            "set_uint64": Set([UInt64.max, UInt64(Int64.max) + 1, 5]),
            "set_mixed": Set<AnyHashable>(["a", 1]),
            "map": ["a": 1],
            "link": URL(string: "https://example.com")!,
            "character": Character("x"),
        ]
    }

    private func conversions() throws -> [JSON] {
        let dir = URL(fileURLWithPath: try environment("MESURE_VECTORS_DIR"), isDirectory: true)
        let vector = try JSON.parse(try Data(contentsOf: dir.appendingPathComponent("property_conversions.json")))
        return try XCTUnwrap(vector["conversions"].array)
    }

    /// A row's `sent`: null (left out), `{"unsupported": {"swift": name}}`, a float "NaN" or "-Infinity", or a vector value.
    private func sent(_ x: JSON) throws -> PropertyValue? {
        if x.isNull { return nil }
        if let names = x["unsupported"].object { return .unsupported(typeName: try XCTUnwrap(names["swift"]?.string)) }
        if let special = x["float"].string { return .decimal(value: try XCTUnwrap(Double(special))) }
        return try propertyValue(x)
    }

    /// Equal, NaN included (the generated `==` says NaN != NaN).
    private func same(_ a: PropertyValue?, _ b: PropertyValue?) -> Bool {
        if case let .decimal(x)? = a, case let .decimal(y)? = b, x.isNaN, y.isNaN { return true }
        return a == b
    }

    func testEveryValueConvertsAsTheTableSays() throws {
        let rows = try conversions().filter { $0["swift"].string != nil }
        let inputs = tableInputs()
        XCTAssertEqual(rows.compactMap { $0["case"].string }.sorted(), inputs.keys.sorted(), "one Swift value per case naming a Swift type")
        var wrong: [String] = []
        for row in rows {
            let name = try XCTUnwrap(row["case"].string)
            let expected = try sent(row["sent"])
            let got = Properties.map([name: inputs[name] ?? nil])[name]
            if !same(got, expected) {
                wrong.append("\(name) (\(row["swift"].string ?? "")): expected \(String(describing: expected)), got \(String(describing: got))")
            }
        }
        XCTAssertEqual(wrong, [], "cases converted otherwise than the table says")
    }

    /// The bytes mesure-core's `encoded.rs` documents (its test `the_byte_layout_is_the_documented_one`).
    func testTheCallBufferHasTheCoresLayout() {
        var call = EncodedCall(kind: EncodedCall.screen, name: "Home")
        call.property("n", .integer(value: -2))
        call.property("b", .flag(value: true))
        let expected: [UInt8] = [
            1, 1, 4, 0, 0, 0, 0x48, 0x6f, 0x6d, 0x65, 2, 0, 0, 0,
            1, 0, 0, 0, 0x6e, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            1, 0, 0, 0, 0x62, 3, 1,
        ]
        XCTAssertEqual([UInt8](call.finish()), expected)
        var named = EncodedCall(kind: EncodedCall.track, name: "a\u{1F3B5}é")
        let text = [UInt8](named.finish())
        XCTAssertEqual(Array(text[2..<13]), [7, 0, 0, 0, 0x61, 0xF0, 0x9F, 0x8E, 0xB5, 0xC3, 0xA9])
    }

    /// Every value of the table, through the wrapper (one buffer, one FFI
    /// call) and through the generated dictionary call, leaves as the same JSON.
    func testTheOneBufferCallSendsWhatTheMapCallSends() async throws {
        let inputs = tableInputs().compactMapValues { $0 }
        let sdk = try start()
        sdk.setConsent(true)
        sdk.trackScreen("table", inputs)
        sdk.trackClick(.download, "table", inputs)
        let uploaded = try await sdk.flush().uploaded
        XCTAssertEqual(uploaded, 2)
        sdk.close()

        let other = try TempDir()
        let direct = CapturingClient()
        let core = try MesureCore(config: MesureConfig(collectEndpoint: "https://collect.example.test", siteId: 42, storageDir: other.url.path,
                                                       flushIntervalMs: 3_600_000), httpClient: direct)
        try core.setConsent(granted: true)
        _ = core.trackScreen(name: "table", properties: Properties.map(inputs))
        _ = core.trackClick(kind: .download, name: "table", properties: Properties.map(inputs))
        XCTAssertEqual(try core.flush().uploaded, 2)
        try core.shutdown()

        let events = { (c: CapturingClient) in try c.requests.flatMap { try JSON.parse($0.body)["events"].array ?? [] }.map { $0["data"] } }
        let wrapper = try events(client)
        let generated = try events(direct)
        XCTAssertEqual(wrapper.count, 2)
        XCTAssertEqual(generated.count, 2)
        for (w, g) in zip(wrapper, generated) {
            let keep = { (o: JSON) in (o.object ?? [:]).filter { inputs[$0.key] != nil || $0.key == "page" || $0.key == "click" } }
            XCTAssertEqual(keep(w), keep(g))
            XCTAssertFalse(keep(w).isEmpty)
        }
    }
}
