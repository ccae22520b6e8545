// Fixtures of the Swift suite: JSON values, the collector process's control
// endpoints, temporary storage, a manual clock, a capturing HTTP client and a
// recording listener. `cargo xtask test-swift` passes MESURE_COLLECTOR_URL
// and MESURE_VECTORS_DIR.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MesureBindings
import XCTest

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func environment(_ name: String) throws -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
        throw TestFailure("\(name) is not set: run the suite with `cargo xtask test-swift`")
    }
    return value
}

// MARK: - JSON

/// A JSON value that keeps integers apart from decimals and booleans apart from numbers.
enum JSON: Equatable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSON].self))
        }
    }

    static func parse(_ data: Data) throws -> JSON {
        try JSONDecoder().decode(JSON.self, from: data)
    }

    static func parse(_ text: String) throws -> JSON {
        try parse(Data(text.utf8))
    }

    subscript(key: String) -> JSON {
        if case let .object(o) = self { return o[key] ?? .null }
        return .null
    }

    var string: String? { if case let .string(s) = self { return s }; return nil }
    var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    var int: Int64? { if case let .int(i) = self { return i }; return nil }
    var number: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }
    var array: [JSON]? { if case let .array(a) = self { return a }; return nil }
    var object: [String: JSON]? { if case let .object(o) = self { return o }; return nil }
    var isNull: Bool { self == .null }

    var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return String(d)
        case let .string(s): return "\"\(s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
        case let .array(a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case let .object(o): return "{" + o.keys.sorted().map { "\"\($0)\":\(o[$0]!.description)" }.joined(separator: ",") + "}"
        }
    }
}

/// Lower-case, hyphenated, version 4, RFC 4122 variant: what the core emits.
func isUUIDv4(_ s: String) -> Bool {
    let chars = Array(s)
    guard chars.count == 36 else { return false }
    for (i, c) in chars.enumerated() {
        if [8, 13, 18, 23].contains(i) {
            if c != "-" { return false }
        } else if !("0"..."9").contains(c) && !("a"..."f").contains(c) {
            return false
        }
    }
    return chars[14] == "4" && "89ab".contains(chars[19])
}

// MARK: - The collector process

/// The loopback collector started by xtask, through its control endpoints.
struct Collector {
    let url: String

    static func fromEnvironment() throws -> Collector {
        Collector(url: try environment("MESURE_COLLECTOR_URL"))
    }

    func reset() throws {
        _ = try call("POST", "/_reset", body: Data())
    }

    /// Replies for the next collection requests, e.g. `[["status": 503]]`.
    func script(_ replies: [[String: Any]]) throws {
        _ = try call("POST", "/_script", body: try JSONSerialization.data(withJSONObject: replies))
    }

    func received() throws -> [JSON] {
        guard let list = try JSON.parse(try call("GET", "/_received", body: nil)).array else {
            throw TestFailure("/_received did not answer a JSON array")
        }
        return list
    }

    /// Waits until at least `count` collection requests arrived.
    func waitForRequests(_ count: Int, timeout: TimeInterval = 10) throws -> [JSON] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let got = try received()
            if got.count >= count || Date() > deadline { return got }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    private func call(_ method: String, _ path: String, body: Data?) throws -> Data {
        guard let endpoint = URL(string: url + path) else { throw TestFailure("bad collector URL \(url)") }
        var request = URLRequest(url: endpoint, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 10)
        request.httpMethod = method
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        let result = Shared<Result<Data, Error>>(.failure(TestFailure("\(method) \(path): no answer")))
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                result.value = .failure(error)
            } else if let status = (response as? HTTPURLResponse)?.statusCode, status != 200 {
                result.value = .failure(TestFailure("\(method) \(path): HTTP \(status)"))
            } else {
                result.value = .success(data ?? Data())
            }
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 15) == .success else { throw TestFailure("\(method) \(path): timed out") }
        return try result.value.get()
    }
}

// MARK: - SDK fixtures

/// A value handed between threads.
final class Shared<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// A fresh directory, deleted when released.
final class TempDir {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mesure-swift-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A clock moved by hand.
final class ManualClock: MesureClock, @unchecked Sendable {
    private let lock = NSLock()
    private var ms: Int64

    init(_ ms: Int64) { self.ms = ms }

    func nowMs() throws -> Int64 {
        lock.lock(); defer { lock.unlock() }
        return ms
    }

    func set(_ value: Int64) {
        lock.lock(); ms = value; lock.unlock()
    }

    func advance(_ delta: Int64) {
        lock.lock(); ms += delta; lock.unlock()
    }
}

/// Records every request and answers with the next scripted status (200 when none is left).
final class CapturingClient: PlatformHttpClient, @unchecked Sendable {
    private let lock = NSLock()
    private var captured: [HttpRequest] = []
    private var statuses: [Int32]

    init(statuses: [Int32] = []) { self.statuses = statuses }

    var requests: [HttpRequest] {
        lock.lock(); defer { lock.unlock() }
        return captured
    }

    func send(request: HttpRequest, completion: UploadCompletion) throws {
        let status: Int32 = {
            lock.lock(); defer { lock.unlock() }
            captured.append(request)
            return statuses.isEmpty ? 200 : statuses.removeFirst()
        }()
        _ = completion.response(status: status, retryAfter: nil)
    }
}

/// Keeps what the listener reports.
final class Recorder: MesureListener, @unchecked Sendable {
    private let lock = NSLock()
    private var diagnosticList: [Diagnostic] = []
    private var changeList: [ModeChange] = []

    var diagnostics: [Diagnostic] { lock.lock(); defer { lock.unlock() }; return diagnosticList }
    var changes: [ModeChange] { lock.lock(); defer { lock.unlock() }; return changeList }

    func onModeChanged(change: ModeChange, logLine: String) throws {
        lock.lock(); changeList.append(change); lock.unlock()
    }

    func onDiagnostic(diagnostic: Diagnostic, logLine: String) throws {
        lock.lock(); diagnosticList.append(diagnostic); lock.unlock()
    }

    private var stateList: [SdkState] = []
    var states: [SdkState] { lock.lock(); defer { lock.unlock() }; return stateList }

    func onState(state: SdkState, logLine: String) throws {
        lock.lock(); stateList.append(state); lock.unlock()
    }
}

/// The context of the conformance vectors, as an iPhone would send it.
let iPhoneContext = DeviceContext(
    os: "ios", osVersion: "18.2", deviceBrand: "Apple", deviceModel: "iPhone17,1", deviceType: "mobile",
    deviceScreenWidth: 1206, deviceScreenHeight: 2622, appVersion: "2.4.0", connectionType: "wifi", collectionPlatform: "ios"
)

// MARK: - Waiting on conditions

/// Diagnostics as they arrive (from the SDK's listener thread), with a wait
/// on a condition instead of a sleep.
final class Diagnostics: @unchecked Sendable {
    private let condition = NSCondition()
    private var list: [Diagnostic] = []

    var all: [Diagnostic] {
        condition.lock(); defer { condition.unlock() }
        return list
    }

    /// For `Options.onDiagnostic`.
    var callback: @Sendable (Diagnostic) -> Void {
        { [self] d in
            condition.lock()
            list.append(d)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits (10 s at most) until `done` holds for what arrived; returns what arrived.
    @discardableResult
    func wait(timeout: TimeInterval = 10, until done: ([Diagnostic]) -> Bool) -> [Diagnostic] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock(); defer { condition.unlock() }
        while !done(list) && condition.wait(until: deadline) {}
        return list
    }

    /// Everything but the `Sent` reports, which depend on upload timing.
    var withoutSent: [Diagnostic] {
        all.filter { if case .sent = $0 { return false }; return true }
    }
}

/// Values received from another thread, with a wait for a count of them.
final class Inbox<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []

    var all: [T] {
        condition.lock(); defer { condition.unlock() }
        return items
    }

    func put(_ item: T) {
        condition.lock()
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits (10 s at most) for `count` items; returns what arrived.
    @discardableResult
    func wait(for count: Int, timeout: TimeInterval = 10) -> [T] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock(); defer { condition.unlock() }
        while items.count < count && condition.wait(until: deadline) {}
        return items
    }
}

/// Holds the core's start until opened: the core's clock (`Options.clock`),
/// which the start thread reads first, holds the SDK's threads in every
/// reading until the gate is open. A slow start on purpose, without a
/// sleep. The thread that built the gate, the test's, is never held: a call
/// the test makes reads the clock to date itself, and must not wait for
/// the start it is testing. If never opened, lets go after `timeout` and
/// says so (`timedOut`), so that a test that would otherwise hang fails
/// instead.
final class StartGate: MesureClock, @unchecked Sendable {
    private let entered = DispatchSemaphore(value: 0)
    private let condition = NSCondition()
    private var isOpen = false
    private var didTimeOut = false
    private let timeout: TimeInterval
    private let owner = pthread_self()

    init(timeout: TimeInterval = 10) { self.timeout = timeout }

    func nowMs() throws -> Int64 {
        condition.lock()
        if !isOpen && pthread_equal(pthread_self(), owner) == 0 {
            entered.signal()
            let deadline = Date().addingTimeInterval(timeout)
            while !isOpen && condition.wait(until: deadline) {}
            if !isOpen { didTimeOut = true; isOpen = true }
        }
        condition.unlock()
        return Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// Waits until the start is held at the gate; false if it never got there.
    func waitUntilHeld() -> Bool { entered.wait(timeout: .now() + 10) == .success }

    func open() {
        condition.lock(); isOpen = true; condition.broadcast(); condition.unlock()
    }

    var timedOut: Bool { condition.lock(); defer { condition.unlock() }; return didTimeOut }
}

/// Blocks `async` work from a synchronous test, with a deadline: XCTest on
/// Linux runs synchronous tests on the main thread, where the model's
/// main-actor code must run.
func blocking<T: Sendable>(timeout: TimeInterval = 15, _ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Shared<Result<T, Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { result.value = .success(try await body()) } catch { result.value = .failure(error) }
        done.signal()
    }
    guard done.wait(timeout: .now() + timeout) == .success, let value = result.value else {
        throw TestFailure("no answer within \(timeout) s")
    }
    return try value.get()
}
