// Runs every conformance vector (tests/vectors/*.json, format in its
// README) through the generated Swift bindings, once per collector wire
// (piano, matomo, piwik_pro): a Swift HTTP client that captures requests
// and answers 200, a Swift clock moved by the script, and the listener
// recording drops and mode changes. The Rust runner
// (core/tests/conformance.rs) is the reference; this one must agree with it.

import Foundation
import MesureBindings
import XCTest

final class ConformanceTests: XCTestCase {
    func testEveryVector() throws {
        let dir = URL(fileURLWithPath: try environment("MESURE_VECTORS_DIR"), isDirectory: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 26, "vectors missing from \(dir.path): \(files)")
        var failures: [String] = []
        for file in files {
            for dialect in dialects {
                do {
                    let vector = try JSON.parse(try Data(contentsOf: dir.appendingPathComponent(file)))
                    try VectorRunner(vector, dialect: dialect).run()
                } catch {
                    failures.append("\(file) (\(dialect)): \(error)")
                }
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) of \(files.count * dialects.count) vector runs failed:\n" + failures.joined(separator: "\n"))
    }

    /// A vector whose expectations are wrong must fail, and say where.
    func testATamperedVectorFails() throws {
        let dir = URL(fileURLWithPath: try environment("MESURE_VECTORS_DIR"), isDirectory: true)
        let vector = try JSON.parse(try Data(contentsOf: dir.appendingPathComponent("opt_in_sends_everything.json")))
        XCTAssertNoThrow(try VectorRunner(vector).run())
        guard case var .object(root) = vector, case var .array(requests) = root["requests"] ?? .null,
              case var .object(first) = requests.first ?? .null, case var .array(events) = first["events"] ?? .null,
              case var .object(event) = events.first ?? .null
        else { throw TestFailure("opt_in_sends_everything.json no longer expects a request with events") }
        event["name"] = .string("tampered.name")
        events[0] = .object(event)
        first["events"] = .array(events)
        requests[0] = .object(first)
        root["requests"] = .array(requests)
        XCTAssertThrowsError(try VectorRunner(.object(root)).run()) { error in
            XCTAssert("\(error)".contains("requests[0].events[0].name"), "\(error)")
        }
    }

    /// A wrong entry of a dialect's expected wire fails that dialect's run only, and says where.
    func testATamperedWireFails() throws {
        let dir = URL(fileURLWithPath: try environment("MESURE_VECTORS_DIR"), isDirectory: true)
        let vector = try JSON.parse(try Data(contentsOf: dir.appendingPathComponent("opt_in_sends_everything.json")))
        for dialect in dialects {
            XCTAssertNoThrow(try VectorRunner(vector, dialect: dialect).run(), dialect)
        }
        guard case var .object(root) = vector, case var .object(wire) = root["wire"] ?? .null, case var .object(matomo) = wire["matomo"] ?? .null,
              case var .array(requests) = matomo["requests"] ?? .null, case var .object(first) = requests.first ?? .null,
              case var .array(entries) = first["entries"] ?? .null, case var .object(entry) = entries.first ?? .null
        else { throw TestFailure("opt_in_sends_everything.json no longer expects a Matomo request with entries") }
        entry["action_name"] = .string("tampered")
        entries[0] = .object(entry)
        first["entries"] = .array(entries)
        requests[0] = .object(first)
        matomo["requests"] = .array(requests)
        wire["matomo"] = .object(matomo)
        root["wire"] = .object(wire)
        XCTAssertNoThrow(try VectorRunner(.object(root), dialect: "piano").run())
        XCTAssertNoThrow(try VectorRunner(.object(root), dialect: "piwik_pro").run())
        XCTAssertThrowsError(try VectorRunner(.object(root), dialect: "matomo").run()) { error in
            XCTAssert("\(error)".contains("wire.matomo.requests[0].entries[0].action_name"), "\(error)")
        }
    }

    /// A config field translated differently is another policy: the vector fails on its policy hash, before any step.
    func testAConfigTranslatedDifferentlyFails() throws {
        let dir = URL(fileURLWithPath: try environment("MESURE_VECTORS_DIR"), isDirectory: true)
        let vector = try JSON.parse(try Data(contentsOf: dir.appendingPathComponent("policy_hash_every_rule.json")))
        guard case var .object(root) = vector, case var .object(config) = root["config"] ?? .null,
              case var .array(allowlist) = config["exempt_allowlist"] ?? .null, case var .object(allowed) = allowlist.first ?? .null
        else { throw TestFailure("policy_hash_every_rule.json no longer has an exempt allowlist") }
        allowed["justification"] = .string("another reason, for the audience per theme")
        allowlist[0] = .object(allowed)
        config["exempt_allowlist"] = .array(allowlist)
        root["config"] = .object(config)
        for dialect in dialects {
            XCTAssertNoThrow(try VectorRunner(vector, dialect: dialect).run(), dialect)
            XCTAssertThrowsError(try VectorRunner(.object(root), dialect: dialect).run(), dialect) { error in
                XCTAssert("\(error)".hasPrefix("policy_hash.\(dialect): "), "\(error)")
            }
        }
    }

    func testFormDecodingIsPHPs() throws {
        XCTAssertEqual(formDecode("a+b%2Bc"), "a b+c")
        XCTAssertEqual(formDecode("%C3%A9%2F%c3%bc"), "é/ü")
        XCTAssertEqual(formDecode("100%"), "100%")
        XCTAssertEqual(formDecode("%zz"), "%zz")
        let body = try JSON.parse(#"{"requests":["?idsite=42&action_name=a+b%26c&novalue&url=https%3A%2F%2Fapp.example%2Fx"]}"#)
        XCTAssertEqual(
            matomoRequest(url: "https://collect.example.test/matomo.php", body: body),
            try JSON.parse(#"{"path":"/matomo.php","entries":[{"idsite":"42","action_name":"a b&c","url":"https://app.example/x"}]}"#)
        )
    }

    func testTheMatcherCanFail() throws {
        let id = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"
        var b = Placeholders()
        XCTAssertNoThrow(try match(.string("$visitor1"), .string(id), &b, "x"))
        XCTAssertThrowsError(try match(.string("$visitor1"), .string("8b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"), &b, "x"))
        XCTAssertThrowsError(try match(.string("$visitor2"), .string(id), &b, "x"), "distinct placeholders, distinct ids")
        XCTAssertNoThrow(try match(.string("$uuid"), .string(id), &b, "x"))
        XCTAssertThrowsError(try match(.string("$uuid"), .string(id), &b, "x"), "event ids are unique")
        XCTAssertThrowsError(try match(.string("$uuid"), .string("not-a-uuid"), &b, "x"))
        XCTAssertThrowsError(try match(.string("$sdk_version"), .string("0.0.0-other"), &b, "x"))
        XCTAssertNoThrow(try match(.string("$sdk_version"), .string(sdkVersion()), &b, "x"))
        XCTAssertNoThrow(try match(.string("Mesure/$sdk_version"), .string("Mesure/\(sdkVersion())"), &b, "x"), "inside a longer string")
        XCTAssertThrowsError(try match(.string("Mesure/$sdk_version"), .string("Mesure/0.0.0-other"), &b, "x"))
        // Matomo's 16-hex `_id` is the same visitor as the UUID it comes from, and no other.
        XCTAssertNoThrow(try match(.string("$visitor1"), .string("7b7c5a522f0d4f7a"), &b, "x"))
        XCTAssertThrowsError(try match(.string("$visitor1"), .string("8b7c5a522f0d4f7a"), &b, "x"))
        XCTAssertThrowsError(try match(.string("$visitor3"), .string("7b7c5a522f0d4f7a"), &b, "x"), "a known visitor under a new placeholder")
        XCTAssertThrowsError(try match(.string("$visitor4"), .string("7b7c5a522f0d4f7"), &b, "x"), "15 hex digits are no visitor")
        XCTAssertNoThrow(try match(.string("$pv1"), .string("abc123"), &b, "x"))
        XCTAssertNoThrow(try match(.string("$pv1"), .string("abc123"), &b, "x"))
        XCTAssertThrowsError(try match(.string("$pv1"), .string("abc124"), &b, "x"), "a page view id is bound")
        XCTAssertThrowsError(try match(.string("$pv2"), .string("abc123"), &b, "x"), "distinct page views, distinct ids")
        XCTAssertThrowsError(try match(.string("$pv3"), .string("ABC123"), &b, "x"), "6 lower-case hex digits")
        XCTAssertThrowsError(try match(try JSON.parse(#"{"a":1}"#), try JSON.parse(#"{"a":1,"b":2}"#), &b, "x"), "extra keys fail")
        XCTAssertThrowsError(try match(try JSON.parse("[1,2]"), try JSON.parse("[1]"), &b, "x"))
        XCTAssertNoThrow(try match(.double(12.5), .double(12.5), &b, "x"))
        XCTAssertNoThrow(try match(.int(1772532000), .double(1772532000), &b, "x"), "numbers compare by value")
        XCTAssertThrowsError(try match(.int(1), .int(2), &b, "x"))
        XCTAssertThrowsError(try match(.bool(true), .int(1), &b, "x"), "a boolean is not a number")
        XCTAssertThrowsError(try match(.null, .string("x"), &b, "x"))
        XCTAssertEqual(try JSON.parse("[true, 1, 1.5, null]"), .array([.bool(true), .int(1), .double(1.5), .null]))
    }

    func testTheConsentPlaceholdersCanFail() throws {
        let visitor = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"
        let consentID = "9c8d7e6f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
        let h1 = "sha256=" + String(repeating: "a", count: 64), h2 = "sha256=" + String(repeating: "b", count: 64)
        var b = Placeholders(policy: h1)
        XCTAssertNoThrow(try match(.string("$visitor1"), .string(visitor), &b, "x"))
        XCTAssertThrowsError(try match(.string("$consent_id"), .string(visitor), &b, "x"), "a visitor's id is no consent-proof id")
        XCTAssertThrowsError(try match(.string("$consent_id"), .string("not-a-uuid"), &b, "x"))
        XCTAssertNoThrow(try match(.string("$consent_id"), .string(consentID), &b, "x"))
        XCTAssertNoThrow(try match(.string("$consent_id"), .string(consentID), &b, "x"))
        XCTAssertThrowsError(try match(.string("$consent_id"), .string("8b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"), &b, "x"), "one consent id per run")
        XCTAssertThrowsError(try match(.string("$visitor2"), .string(consentID), &b, "x"), "a visitor may not take the consent-proof id")
        XCTAssertThrowsError(try match(.string("$visitor2"), .string("9c8d7e6f1a2b4c3d"), &b, "x"), "nor its 16 hex digits")
        XCTAssertNoThrow(try match(.string("$policy"), .string(h1), &b, "x"))
        XCTAssertThrowsError(try match(.string("$policy"), .string(h2), &b, "x"), "exactly the SDK's policy hash")
        XCTAssertNoThrow(try match(.string("$hash1"), .string(h1), &b, "x"))
        XCTAssertNoThrow(try match(.string("$hash1"), .string(h1), &b, "x"))
        XCTAssertThrowsError(try match(.string("$hash1"), .string(h2), &b, "x"), "a hash is bound")
        XCTAssertThrowsError(try match(.string("$hash2"), .string(h1), &b, "x"), "distinct hashes, distinct values")
        XCTAssertThrowsError(try match(.string("$hash2"), .string("sha256=" + String(repeating: "B", count: 64)), &b, "x"), "lower-case hex")
        XCTAssertThrowsError(try match(.string("$hash2"), .string("sha256=" + String(repeating: "b", count: 63)), &b, "x"), "64 digits")
        XCTAssertThrowsError(try match(.string("$hash2"), .string(String(repeating: "b", count: 64)), &b, "x"), "the sha256= prefix")
        XCTAssertNoThrow(try match(.string("$hash2"), .string(h2), &b, "x"))
    }

    /// No consent request may hold a visitor's id (either form), no statistics request the consent-proof id.
    func testTheConsentRequestChecksCanFail() throws {
        let visitor = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"
        let consentID = "9c8d7e6f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
        func request(_ text: String) throws -> ConsentRequest { ConsentRequest(policy: "p", text: text, body: try JSON.parse(text)) }
        var b = Placeholders()
        XCTAssertNoThrow(try match(.string("$visitor1"), .string(visitor), &b, "x"))
        XCTAssertNoThrow(try match(.string("$consent_id"), .string(consentID), &b, "x"))
        let receipt = try request(#"{"type":"consent_receipts","consent_id":"\#(consentID)"}"#)
        let matomoID = try request(#"{"type":"consent_receipts","note":"7b7c5a522f0d4f7a"}"#)
        let statistics = try request(#"{"type":"consent_statistics","x":"\#(consentID)"}"#)
        let expect = { (rs: [ConsentRequest]) in JSON.array(rs.map { .object(["policy": .string("p"), "body": $0.body]) }) }
        XCTAssertNoThrow(try checkConsentRequests(expect([receipt]), [receipt], &b))
        XCTAssertThrowsError(try checkConsentRequests(.null, [receipt], &b), "none expected when the vector has none")
        XCTAssertThrowsError(try checkConsentRequests(expect([matomoID]), [matomoID], &b)) { error in
            XCTAssert("\(error)".contains("holds the visitor id"), "\(error)")
        }
        XCTAssertThrowsError(try checkConsentRequests(expect([statistics]), [statistics], &b)) { error in
            XCTAssert("\(error)".contains("consent-proof id"), "\(error)")
        }
    }

    /// A wrong consent request fails every dialect's run, and says where.
    func testATamperedConsentRequestFails() throws {
        let dir = URL(fileURLWithPath: try environment("MESURE_VECTORS_DIR"), isDirectory: true)
        let vector = try JSON.parse(try Data(contentsOf: dir.appendingPathComponent("consent_statistics.json")))
        guard case var .object(root) = vector, case var .array(requests) = root["consent_requests"] ?? .null, requests.count > 1,
              case var .object(second) = requests[1], case var .object(body) = second["body"] ?? .null,
              case var .array(counts) = body["counts"] ?? .null, case var .object(count) = counts.first ?? .null
        else { throw TestFailure("consent_statistics.json no longer expects consent statistics as its second consent request") }
        count["shown"] = .int(2)
        counts[0] = .object(count)
        body["counts"] = .array(counts)
        second["body"] = .object(body)
        requests[1] = .object(second)
        root["consent_requests"] = .array(requests)
        for dialect in dialects {
            XCTAssertThrowsError(try VectorRunner(.object(root), dialect: dialect).run(), dialect) { error in
                XCTAssert("\(error)".contains("consent_requests[1].body.counts[0].shown"), "\(error)")
            }
        }
    }
}

// MARK: - Matching with placeholders

struct Placeholders {
    var visitors: [String: String] = [:]
    var eventIDs: Set<String> = []
    /// `$hashN`: one `sha256=<64 hex>` per N.
    var hashes: [String: String] = [:]
    /// `$consent_id`: the consent-proof id, once seen.
    var consentID: String?
    /// `$policy`: the SDK's policy hash in this run.
    var policy = ""
}

/// The same id, whichever form each place shows: Matomo's `_id` is the
/// first 16 hex digits of the app-scoped UUID.
func sameID(_ x: String, _ y: String) -> Bool {
    x == y || (x.count != y.count && hex16(x) == hex16(y))
}

/// Compares `actual` with `expected`, where expected strings may be
/// placeholders (as the Rust runner's matcher): `$uuid` (a v4 UUID never
/// seen before in this run), `$visitorN` (a v4 UUID or Matomo's 16
/// lower-case hex digits, the same for the same N, different for different
/// N; a 16-hex id and a UUID are the same visitor when the 16 digits begin
/// the UUID's hex digits), `$pvN` (6 lower-case hex digits, bound the same
/// way), `$sdk_version` (also inside a longer string), and in consent
/// requests `$consent_id` (one v4 UUID throughout the run, never a
/// visitor's id), `$hashN` (`sha256=<64 hex>`, the same for the same N,
/// different for different N) and `$policy` (the SDK's policy hash).
/// Objects must have the same keys.
func match(_ expected: JSON, _ actual: JSON, _ b: inout Placeholders, _ path: String) throws {
    func fail(_ why: String) -> TestFailure { TestFailure("\(path): \(why)") }
    if case let .string(e) = expected, e == "$uuid" {
        guard let a = actual.string, isUUIDv4(a), b.eventIDs.insert(a).inserted else {
            throw fail("expected a fresh v4 UUID, got \(actual)")
        }
        return
    }
    if case let .string(e) = expected, e == "$consent_id" {
        guard let a = actual.string, isUUIDv4(a) else {
            throw fail("expected the consent-proof id, a v4 UUID, got \(actual)")
        }
        if let visitor = b.visitors.first(where: { $0.key.hasPrefix("$visitor") && sameID($0.value, a) }) {
            throw fail("the consent-proof id \(a) is \(visitor.key)'s id")
        }
        if let bound = b.consentID {
            if bound != a { throw fail("$consent_id was \(bound), now \(a)") }
        } else {
            b.consentID = a
        }
        return
    }
    if case let .string(e) = expected, e == "$policy" {
        guard let a = actual.string, a == b.policy else {
            throw fail("expected the SDK's policy hash \(b.policy), got \(actual)")
        }
        return
    }
    if case let .string(e) = expected, e.hasPrefix("$hash") {
        guard let a = actual.string, a.hasPrefix("sha256="), isHex(String(a.dropFirst("sha256=".count)), 64) else {
            throw fail("expected sha256=<64 hex> for \(e), got \(actual)")
        }
        if let bound = b.hashes[e] {
            if bound != a { throw fail("\(e) was \(bound), now \(a)") }
        } else if b.hashes.values.contains(a) {
            throw fail("\(e) is another placeholder's hash \(a)")
        } else {
            b.hashes[e] = a
        }
        return
    }
    if case let .string(e) = expected, e.hasPrefix("$visitor") || e.hasPrefix("$pv") {
        let pageView = e.hasPrefix("$pv")
        guard let a = actual.string, pageView ? isHex(a, 6) : isUUIDv4(a) || isHex(a, 16) else {
            throw fail("expected a fresh id for \(e), got \(actual)")
        }
        // Matomo's `_id` is the first 16 hex digits of the app-scoped id:
        // the same visitor whichever form each place shows.
        if let bound = b.visitors[e] {
            if !sameID(bound, a) { throw fail("\(e) was \(bound), now \(a)") }
        } else if b.visitors.values.contains(where: { sameID($0, a) }) {
            throw fail("\(e) reuses another visitor's id \(a)")
        } else if let c = b.consentID, sameID(c, a) {
            throw fail("\(e) is the consent-proof id \(a)")
        } else {
            b.visitors[e] = a
        }
        return
    }
    if case let .string(e) = expected, e.contains("$sdk_version"), case let .string(a) = actual {
        let want = e.replacingOccurrences(of: "$sdk_version", with: sdkVersion())
        guard a == want else { throw fail("expected \(e) with the sdk version \(sdkVersion()), got \(actual)") }
        return
    }
    switch (expected, actual) {
    case let (.object(e), .object(a)):
        let ek = e.keys.sorted(), ak = a.keys.sorted()
        guard ek == ak else { throw fail("keys differ: expected \(ek), got \(ak)") }
        for k in ek {
            try match(e[k]!, a[k]!, &b, "\(path).\(k)")
        }
    case let (.array(e), .array(a)):
        guard e.count == a.count else { throw fail("expected \(e.count) items, got \(a.count): \(actual)") }
        for (i, (ev, av)) in zip(e, a).enumerated() {
            try match(ev, av, &b, "\(path)[\(i)]")
        }
    default:
        if let e = expected.number, let a = actual.number, e == a { return }
        guard expected == actual else { throw fail("expected \(expected), got \(actual)") }
    }
}

/// The first 16 hex digits of an id (Matomo's `_id` of an app-scoped id).
func hex16(_ s: String) -> String {
    String(s.filter(\.isHexDigit).prefix(16))
}

/// `count` lower-case hex digits.
func isHex(_ s: String, _ count: Int) -> Bool {
    s.count == count && s.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
}

// MARK: - The wires

/// The dialects every vector runs under (tests/vectors/README.md, "Every vector under every dialect").
let dialects = ["piano", "matomo", "piwik_pro"]

private let piwikProApp = "0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b"

/// The collector each dialect sets, whatever the vector's config says (as the Rust runner's `collector`).
/// (`MesureBindings.Collector`: the suite's `Collector` is the collector process.)
func vectorCollector(_ dialect: String) throws -> MesureBindings.Collector {
    let dimensions: [String: Int32] = ["app_version": 1, "connection_type": 2, "visitor_privacy_mode": 3, "visitor_privacy_consent": 4]
    switch dialect {
    case "piano": return .piano
    case "matomo": return .matomo(appHost: "app.example", dimensions: dimensions)
    case "piwik_pro": return .piwikPro(appId: piwikProApp, appHost: "app.example", dimensions: dimensions)
    default: throw TestFailure("unknown dialect \(dialect)")
    }
}

/// Percent-decoding as PHP's `parse_str` does: `+` is a space, `%XX` a byte, the bytes UTF-8.
func formDecode(_ s: String) -> String {
    let bytes = Array(s.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        if b == UInt8(ascii: "+") {
            out.append(UInt8(ascii: " "))
        } else if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) {
            out.append(hi << 4 | lo)
            i += 2
        } else {
            out.append(b)
        }
        i += 1
    }
    return String(decoding: out, as: UTF8.self)
}

/// A Matomo / Piwik PRO bulk request as the vectors state it: the URL's path
/// and each entry's parameters, decoded (`{"path": ..., "entries": [{...}]}`).
func matomoRequest(url: String, body: JSON) -> JSON {
    let path = url.hasPrefix(endpoint) ? String(url.dropFirst(endpoint.count)) : url
    let entries: [JSON] = (body["requests"].array ?? []).map { e in
        let query = (e.string ?? "").drop { $0 == "?" }
        var params: [String: JSON] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            params[formDecode(String(pair[..<eq]))] = .string(formDecode(String(pair[pair.index(after: eq)...])))
        }
        return .object(params)
    }
    return .object(["path": .string(path), "entries": .array(entries)])
}

// MARK: - The runner

private let endpoint = "https://collect.example.test"

/// The consent endpoint a vector's `"consent": {"endpoint":
/// "$consent_endpoint"}` stands for: the same URL in every runner (the
/// policy hash covers it).
private let consentEndpoint = "https://collect.example.test/consent"

/// One request to the consent endpoint: its `Mesure-Policy` header, its
/// body as sent and as JSON.
struct ConsentRequest {
    let policy: String?
    let text: String
    let body: JSON
}

extension ConsentRequest {
    /// A request the runner's client captured, as sent to the consent endpoint.
    init(_ request: HttpRequest) {
        self.init(
            policy: request.headers.first { $0.name.lowercased() == "mesure-policy" }?.value,
            text: String(decoding: request.body, as: UTF8.self),
            body: (try? JSON.parse(request.body)) ?? .null
        )
    }
}

/// What reached the consent endpoint, in order, against the vector's
/// `consent_requests` (`expected`; none when the vector has none): each
/// request's `Mesure-Policy` header (`$policy`) and body. Whatever the
/// vector says, no request holds a visitor's id (either form) and a
/// statistics request does not hold the consent-proof id.
func checkConsentRequests(_ expected: JSON, _ consent: [ConsentRequest], _ b: inout Placeholders) throws {
    let got: [JSON] = consent.map { .object(["policy": $0.policy.map(JSON.string) ?? .null, "body": $0.body]) }
    try match(expected.isNull ? .array([]) : expected, .array(got), &b, "consent_requests")
    let visitors = b.visitors.filter { $0.key.hasPrefix("$visitor") }.map(\.value)
    for (i, r) in consent.enumerated() {
        if let id = visitors.first(where: { r.text.contains($0) || r.text.replacingOccurrences(of: "-", with: "").contains(hex16($0)) }) {
            throw TestFailure("consent_requests[\(i)]: holds the visitor id \(id)")
        }
        if r.body["type"] == .string("consent_statistics"), let c = b.consentID, r.text.contains(c) {
            throw TestFailure("consent_requests[\(i)]: the consent statistics hold the consent-proof id \(c)")
        }
    }
}

/// A step's prompt, `{"prompt_id": "...", "prompt_version": "...", "locale": "..."}` (locale optional).
func promptOf(_ p: JSON, _ at: String) throws -> ConsentContext {
    guard let id = p["prompt_id"].string else { throw TestFailure("\(at): prompt_id") }
    guard let version = p["prompt_version"].string else { throw TestFailure("\(at): prompt_version") }
    return ConsentContext(promptId: id, promptVersion: version, locale: p["locale"].string)
}

final class VectorRunner {
    private let vector: JSON
    private let dialect: String
    private let storage: TempDir
    private let clock: ManualClock
    private let recorder = Recorder()
    private let capture = CapturingClient()
    private let config: MesureConfig
    private var b = Placeholders()
    /// False after `{"restart": "no_wait"}` until a step that waits for the
    /// start: a track may then answer `waiting` (the core's start queue).
    private var started = true

    init(_ vector: JSON, dialect: String = "piano") throws {
        self.vector = vector
        self.dialect = dialect
        storage = try TempDir()
        guard let start = vector["start"].string else { throw TestFailure("no start") }
        clock = ManualClock(try epochMs(start))
        config = try makeConfig(vector["config"], storageDir: storage.path, collector: try vectorCollector(dialect))
    }

    private func build() throws -> MesureCore {
        let core = try MesureCore(config: config, listener: recorder, httpClient: capture, clock: clock)
        try core.waitStarted()
        return core
    }

    func run() throws {
        var sdk = try build()
        do {
            try checkPolicyHash(sdk.policyHash())
        } catch {
            _ = try? sdk.shutdown()
            throw error
        }
        b.policy = sdk.policyHash()
        guard let steps = vector["steps"].array else { throw TestFailure("no steps") }
        for (i, step) in steps.enumerated() {
            let at = "step \(i) \(step)"
            do {
                try perform(step, on: &sdk, at: at)
            } catch let e as TestFailure {
                throw e
            } catch {
                throw TestFailure("\(at): \(error)")
            }
        }
        try sdk.shutdown()

        let dropped: [JSON] = recorder.diagnostics.compactMap {
            guard case let .dropped(mode, event, property, reason, _) = $0 else { return nil }
            return .object(["mode": .string(mode), "event": .string(event), "property": property.map(JSON.string) ?? .null, "reason": .string(reason)])
        }
        let collection = capture.requests.filter { $0.url != consentEndpoint }
        if dialect == "piano" {
            let site = String(config.siteId)
            let requests: [JSON] = try collection.map { request in
                guard request.url.hasPrefix("\(endpoint)/event?") else { throw TestFailure("request to \(request.url)") }
                let query = queryItems(request.url)
                guard query["s"] == site else { throw TestFailure("site id \(query["s"] ?? "none") in \(request.url), expected \(site)") }
                let body = (try? JSON.parse(request.body)) ?? .null
                return .object(["idclient": query["idclient"].map(JSON.string) ?? .null, "events": body["events"]])
            }
            try match(vector["requests"], .array(requests), &b, "requests")
            try match(vector["dropped"], .array(dropped), &b, "dropped")
        } else {
            let requests: [JSON] = collection.map { matomoRequest(url: $0.url, body: (try? JSON.parse($0.body)) ?? .null) }
            let expected = vector["wire"][dialect]
            if expected.isNull { throw TestFailure("no expected wire for \(dialect)") }
            try match(expected, .object(["requests": .array(requests), "dropped": .array(dropped)]), &b, "wire.\(dialect)")
        }

        // Requests to the consent endpoint are checked apart from the collection's.
        let consent = capture.requests.filter { $0.url == consentEndpoint }.map { ConsentRequest($0) }
        try checkConsentRequests(vector["consent_requests"], consent, &b)

        let changes: [JSON] = recorder.changes.map {
            .object([
                "previous": .string(visitorModeName(mode: $0.previous)),
                "current": .string(visitorModeName(mode: $0.current)),
                "reason": .string(reasonCode($0.reason)),
                "consent_renewal_needed": .bool($0.consentRenewalNeeded),
            ])
        }
        try match(vector["mode_changes"], .array(changes), &b, "mode_changes")
    }

    /// The vector's `policy_hash.<dialect>` must be the hash of the SDK
    /// started from the config as this runner translated it: exactly, as
    /// every runner compares it (a field translated differently is another policy).
    private func checkPolicyHash(_ got: String) throws {
        guard let expected = vector["policy_hash"][dialect].string else {
            throw TestFailure("policy_hash.\(dialect): missing (the SDK's is \(got))")
        }
        guard got == expected else {
            throw TestFailure(
                "policy_hash.\(dialect): the SDK started from this vector's config, as the Swift runner translates it, "
                    + "has the policy hash \(got), the vector expects \(expected)"
            )
        }
    }

    private func perform(_ step: JSON, on sdk: inout MesureCore, at: String) throws {
        let expectedError = step["error"].string
        let prompt = try step["prompt"].isNull ? nil : promptOf(step["prompt"], at)
        if case .object = step["track"] {
            let t = step["track"]
            guard let name = t["name"].string else { throw TestFailure("\(at): track without a name") }
            var properties: [String: PropertyValue] = [:]
            for (k, v) in t["properties"].object ?? [:] {
                properties[k] = try propertyValue(v)
            }
            let notSent = step["not_sent"].string
            let outcome = sdk.track(name: name, properties: properties)
            switch (outcome, expectedError, notSent) {
            case (.queued, nil, nil): break
            case (.waiting, nil, _) where !started: break
            case let (.notSent(reason), nil, expected?) where reason == expected: break
            case let (.refused(reason, _), expected?, nil) where reason == expected: break
            default: throw TestFailure("\(at): got \(outcome)")
            }
        } else if let mode = step["set_mode"].string {
            do {
                try sdk.setMode(mode: visitorModeFromName(name: mode), prompt: prompt)
                if expectedError != nil { throw TestFailure("\(at): succeeded") }
            } catch let error as MesureError {
                switch (error, expectedError) {
                case (.UnknownMode, "unknown_mode"?), (.ShutDown, "shut_down"?): break
                default: throw TestFailure("\(at): got \(error)")
                }
            }
        } else if let granted = step["set_consent"].bool {
            try sdk.setConsent(granted: granted, prompt: prompt)
        } else if !step["consent_prompt_shown"].isNull {
            try sdk.consentPromptShown(prompt: try promptOf(step["consent_prompt_shown"], at))
        } else if let on = step["set_consent_statistics"].bool {
            try sdk.setConsentStatistics(enabled: on)
        } else if let on = step["set_opted_out"].bool {
            try sdk.setOptedOut(optedOut: on)
        } else if let answers = step["set_purposes"].object {
            var map: [String: PurposeMode] = [:]
            for (p, m) in answers {
                guard let name = m.string, let mode = purposeModeFromName(name: name) else { throw TestFailure("\(at): mode \(m)") }
                map[p] = mode
            }
            try sdk.setPurposes(answers: map, prompt: prompt)
        } else if let one = step["set_purpose"].object {
            guard let purpose = one["purpose"]?.string, let name = one["mode"]?.string, let mode = purposeModeFromName(name: name) else {
                throw TestFailure("\(at): set_purpose needs purpose and mode")
            }
            try sdk.setPurpose(purpose: purpose, mode: mode)
        } else if !step["expect_purposes"].isNull {
            let got = JSON.object(sdk.purposes().mapValues { .string(purposeModeName(mode: $0)) })
            try match(step["expect_purposes"], got, &b, at)
        } else if let time = step["set_time"].string {
            clock.set(try epochMs(time))
        } else if let seconds = step["advance_seconds"].int {
            clock.advance(seconds * 1000)
        } else if !step["flush"].isNull {
            _ = try sdk.flush()
            started = true
        } else if !step["restart"].isNull {
            try sdk.shutdown()
            if step["restart"].string == "no_wait" {
                sdk = try MesureCore(config: config, listener: recorder, httpClient: capture, clock: clock)
                started = false
            } else {
                sdk = try build()
                started = true
            }
        } else if !step["stop"].isNull {
            sdk.stop()
        } else if !step["delete_local_data"].isNull {
            _ = try sdk.deleteLocalData()
        } else if !step["expect_mode"].isNull {
            let status = sdk.modeStatus()
            let got = JSON.object(["mode": .string(visitorModeName(mode: status.mode)), "consent_renewal_needed": .bool(status.consentRenewalNeeded)])
            try match(step["expect_mode"], got, &b, at)
        } else if !step["expect_export"].isNull {
            let doc = try JSON.parse(try sdk.exportLocalData())
            let got = JSON.object([
                "visitor": doc["visitor_id"]["id"],
                "pending_hits": doc["pending_hits"].array.map { .int(Int64($0.count)) } ?? .null,
                "mode_history": doc["mode_history"].array.map { .array($0.map { $0["mode"] }) } ?? .null,
            ])
            try match(step["expect_export"], got, &b, at)
        } else {
            throw TestFailure("\(at): unknown step")
        }
    }
}

private func reasonCode(_ r: ModeChangeReason) -> String {
    switch r {
    case .setByApp: return "set_by_app"
    case .consentExpired: return "consent_expired"
    case .localDataDeleted: return "local_data_deleted"
    }
}

/// `a=b&c=d` after the `?`, undecoded, as the Rust runner reads it.
private func queryItems(_ url: String) -> [String: String] {
    guard let q = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
    var out: [String: String] = [:]
    for pair in q.split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1)
        if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
    }
    return out
}

func epochMs(_ rfc3339: String) throws -> Int64 {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    if let d = f.date(from: rfc3339) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let d = f.date(from: rfc3339) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    throw TestFailure("not an RFC 3339 time: \(rfc3339)")
}

/// A string, or one of `{"int": 1}`, `{"float": 1.5}`, `{"bool": true}`,
/// `{"date": "..."}`, `{"strings": [...]}`, `{"ints"...}`, `{"floats"...}`,
/// `{"bools"...}`, `{"dates"...}`.
func propertyValue(_ v: JSON) throws -> PropertyValue {
    if let s = v.string { return .text(value: s) }
    guard let o = v.object, o.count == 1, let (kind, x) = o.first else { throw TestFailure("not a property value: \(v)") }
    func list<T>(_ f: (JSON) -> T?) throws -> [T] {
        guard let a = x.array else { throw TestFailure("\(kind) needs an array: \(v)") }
        return try a.map { guard let e = f($0) else { throw TestFailure("bad \(kind) item \($0)") }; return e }
    }
    func need<T>(_ value: T?) throws -> T {
        guard let value else { throw TestFailure("bad \(kind) value \(x)") }
        return value
    }
    switch kind {
    case "int": return .integer(value: try need(x.int))
    case "float": return .decimal(value: try need(x.number))
    case "bool": return .flag(value: try need(x.bool))
    case "date": return .date(epochMs: try epochMs(try need(x.string)))
    case "strings": return .textList(values: try list { $0.string })
    case "ints": return .integerList(values: try list { $0.int })
    case "floats": return .decimalList(values: try list { $0.number })
    case "bools": return .flagList(values: try list { $0.bool })
    case "dates": return .dateList(epochMs: try list { $0.string.flatMap { try? epochMs($0) } })
    default: throw TestFailure("unknown value type \(kind)")
    }
}

// MARK: - Configuration

/// The vector's `config` (mesure_core::Config field names) as a MesureConfig,
/// with the runner's endpoint, storage, one-hour flush interval and the
/// dialect's collector. Unknown fields fail, as `Config::from_json` refuses them.
func makeConfig(_ json: JSON, storageDir: String, collector: MesureBindings.Collector = .piano) throws -> MesureConfig {
    guard let c = json.object else { throw TestFailure("config is not an object") }
    // Set by the runner, whatever the vector says.
    let known: Set<String> = [
        "collect_endpoint", "storage_dir", "flush_interval_ms", "site_id", "default_mode", "exempt_allowlist",
        "forbidden_properties", "forbidden_events", "anonymous_events", "purposes", "custom_modes", "send_hits_in_opt_out", "consent_lifetime_months", "queue_max_hits",
        "queue_max_age_days", "batch_size", "request_timeout_ms", "retry_base_ms", "retry_max_ms", "context", "consent",
    ]
    if let unknown = c.keys.sorted().first(where: { !known.contains($0) }) {
        throw TestFailure("config field \(unknown) is not mapped by the Swift runner")
    }
    guard let siteId = try i64(c["site_id"], "site_id") else { throw TestFailure("config.site_id missing") }
    return MesureConfig(
        collectEndpoint: endpoint,
        siteId: siteId,
        storageDir: storageDir,
        defaultMode: try c["default_mode"].map { v -> VisitorMode in
            guard let name = v.string else { throw TestFailure("default_mode: not a string: \(v)") }
            return visitorModeFromName(name: name)
        },
        exemptAllowlist: try (c["exempt_allowlist"]?.array ?? []).map(allowedProperty),
        forbiddenProperties: try (c["forbidden_properties"]?.array ?? []).map { r in
            try onlyKeys(r, ["property", "events"], "forbidden_properties")
            guard let property = r["property"].string else { throw TestFailure("forbidden_properties: property missing") }
            return PropertyRule(property: property, events: r["events"].string ?? "*")
        },
        forbiddenEvents: try strings(c["forbidden_events"], "forbidden_events") ?? [],
        anonymousEvents: try strings(c["anonymous_events"], "anonymous_events"),
        customModes: try (c["custom_modes"]?.array ?? []).map { m in
            try onlyKeys(m, ["name", "allowed_events", "allowed_properties"], "custom_modes")
            guard let name = m["name"].string else { throw TestFailure("custom_modes: name missing") }
            return CustomMode(
                name: name,
                allowedEvents: (m["allowed_events"].array ?? []).compactMap(\.string),
                allowedProperties: try (m["allowed_properties"].array ?? []).map(allowedProperty)
            )
        },
        purposes: try (c["purposes"]?.array ?? []).map { p in
            try onlyKeys(p, ["name", "properties"], "purposes")
            guard let name = p["name"].string else { throw TestFailure("purposes: name missing") }
            return PurposeConfig(name: name, properties: try strings(p["properties"], "purposes.properties") ?? [])
        },
        sendHitsInOptOut: c["send_hits_in_opt_out"]?.bool,
        consentLifetimeMonths: try i32(c["consent_lifetime_months"], "consent_lifetime_months"),
        queueMaxHits: try i32(c["queue_max_hits"], "queue_max_hits"),
        queueMaxAgeDays: try i32(c["queue_max_age_days"], "queue_max_age_days"),
        batchSize: try i32(c["batch_size"], "batch_size"),
        flushIntervalMs: 3_600_000,
        requestTimeoutMs: try i64(c["request_timeout_ms"], "request_timeout_ms"),
        retryBaseMs: try i64(c["retry_base_ms"], "retry_base_ms"),
        retryMaxMs: try i64(c["retry_max_ms"], "retry_max_ms"),
        context: try c["context"].map(deviceContext),
        collector: collector,
        consent: try c["consent"].map(consentSettings)
    )
}

/// The vector's `consent` block, where `"endpoint": "$consent_endpoint"`
/// stands for the runner's consent endpoint; absent fields take
/// `ConsentSettings`' defaults (as `Config::from_json` does).
private func consentSettings(_ c: JSON) throws -> ConsentSettings {
    try onlyKeys(c, ["endpoint", "statistics", "refuse_all_stops_statistics"], "consent")
    func flag(_ key: String, _ otherwise: Bool) throws -> Bool {
        if c[key].isNull { return otherwise }
        guard let b = c[key].bool else { throw TestFailure("consent.\(key): not a boolean: \(c[key])") }
        return b
    }
    var endpoint: String?
    if !c["endpoint"].isNull {
        guard let e = c["endpoint"].string else { throw TestFailure("consent.endpoint: not a string: \(c["endpoint"])") }
        endpoint = e == "$consent_endpoint" ? consentEndpoint : e
    }
    return ConsentSettings(
        endpoint: endpoint,
        statistics: try flag("statistics", true),
        refuseAllStopsStatistics: try flag("refuse_all_stops_statistics", false)
    )
}

/// A list of strings, or nil when absent.
private func strings(_ json: JSON?, _ field: String) throws -> [String]? {
    guard let json else { return nil }
    guard let a = json.array else { throw TestFailure("\(field): not an array: \(json)") }
    return try a.map { e in
        guard let s = e.string else { throw TestFailure("\(field): not a string: \(e)") }
        return s
    }
}

private func onlyKeys(_ json: JSON, _ allowed: Set<String>, _ field: String) throws {
    guard let o = json.object else { throw TestFailure("\(field): not an object: \(json)") }
    if let unknown = o.keys.first(where: { !allowed.contains($0) }) {
        throw TestFailure("\(field).\(unknown) is not mapped by the Swift runner")
    }
}

private func allowedProperty(_ a: JSON) throws -> AllowedProperty {
    try onlyKeys(a, ["property", "events", "justification"], "allowed property")
    guard let property = a["property"].string, let justification = a["justification"].string else {
        throw TestFailure("allowed property needs property and justification: \(a)")
    }
    return AllowedProperty(property: property, events: a["events"].string ?? "*", justification: justification)
}

private func deviceContext(_ c: JSON) throws -> DeviceContext {
    try onlyKeys(c, [
        "os", "os_version", "device_brand", "device_model", "device_type", "device_screen_width",
        "device_screen_height", "app_version", "connection_type", "collection_platform",
    ], "context")
    return DeviceContext(
        os: c["os"].string, osVersion: c["os_version"].string, deviceBrand: c["device_brand"].string,
        deviceModel: c["device_model"].string, deviceType: c["device_type"].string,
        deviceScreenWidth: try i32(c["device_screen_width"], "context.device_screen_width"),
        deviceScreenHeight: try i32(c["device_screen_height"], "context.device_screen_height"),
        appVersion: c["app_version"].string, connectionType: c["connection_type"].string,
        collectionPlatform: c["collection_platform"].string
    )
}

private func i32(_ v: JSON?, _ field: String) throws -> Int32? {
    guard let v, !v.isNull else { return nil }
    guard let i = v.int, let n = Int32(exactly: i) else { throw TestFailure("\(field): not a 32-bit integer: \(v)") }
    return n
}

private func i64(_ v: JSON?, _ field: String) throws -> Int64? {
    guard let v, !v.isNull else { return nil }
    guard let i = v.int else { throw TestFailure("\(field): not an integer: \(v)") }
    return i
}
