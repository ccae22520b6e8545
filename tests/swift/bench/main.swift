// The caller's cost of tracking through the Swift wrapper, against an empty
// FFI call returning a boolean (`hasBuiltinHttpClient()`), in one process:
// 100 bursts of 1000 calls each, every call timed on its own, after two
// warm-up bursts. Between bursts the SDK is flushed (untimed), so each
// burst starts from an idle queue and an empty store, as taps do. For
// context: the caller's own dictionary literal alone (its share of the
// cost), and the same screen through the raw generated object, which does
// the core's work on the caller's thread. Prints one JSON line
// (nanoseconds). Run by `cargo xtask bench-swift`, never in a test.
// Top-level code: this is the executable's main.swift.

import Foundation
import Mesure
import MesureBindings

let bursts = 100
let callsPerBurst = 1000
let warmUpBursts = 2

/// `call` timed one call at a time over the bursts; `between` runs between bursts, untimed.
func measure(_ call: (Int) -> Void, between: () async throws -> Void) async throws -> [UInt64] {
    var samples: [UInt64] = []
    samples.reserveCapacity(bursts * callsPerBurst)
    for burst in 0..<(warmUpBursts + bursts) {
        for i in 0..<callsPerBurst {
            let start = DispatchTime.now().uptimeNanoseconds
            call(i)
            let end = DispatchTime.now().uptimeNanoseconds
            if burst >= warmUpBursts { samples.append(end - start) }
        }
        try await between()
    }
    return samples.sorted()
}

/// The sample at quantile `q` of sorted `s`.
func quantile(_ s: [UInt64], _ q: Double) -> UInt64 {
    s[min(s.count - 1, Int((Double(s.count) * q).rounded(.down)))]
}

func summary(_ s: [UInt64]) -> String {
    "{\"p50\":\(quantile(s, 0.5)),\"p99\":\(quantile(s, 0.99)),\"p999\":\(quantile(s, 0.999)),\"max\":\(s.last ?? 0)}"
}

/// A fresh directory for one SDK.
func storage(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mesure-bench-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

// A dry run: the core builds and filters every hit, and sends nothing.
func config(_ dir: URL) -> MesureConfig {
    MesureConfig(collectEndpoint: "https://collect.example.test", siteId: 42, storageDir: dir.path,
                 flushIntervalMs: 3_600_000, dryRun: true)
}

/// Counts the tracks dropped by a full queue (the wrapper's or the core's hand-off): none expected.
final class Drops: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int64 = 0
    var value: Int64 { lock.lock(); defer { lock.unlock() }; return count }
    func add(_ diagnostic: Diagnostic) {
        if case let .backpressure(dropped) = diagnostic {
            lock.lock(); count += dropped; lock.unlock()
        }
    }
}

let drops = Drops()
let wrapperDir = try storage("wrapper")
let options = MesureSDK.Options(storageDirectory: wrapperDir, httpClient: nil, onDiagnostic: { drops.add($0) })
let sdk = try MesureSDK.start(siteId: 42, options: options) { _ in config(wrapperDir) }
try await sdk.awaitApplied()

var sink = false
let ffiBool = try await measure({ _ in sink = hasBuiltinHttpClient() != sink }, between: {})

let chapter = "news"
let drain = { _ = try await sdk.flush() }
let trackScreen = try await measure({ i in
    sdk.trackScreen("home", ["page_chapter1": chapter, "items": i, "premium": true])
}, between: drain)

let trackScreenBare = try await measure({ _ in sdk.trackScreen("home") }, between: drain)

// The app's share: building the same dictionary, no SDK call.
var keys = 0
let literalOnly = try await measure({ i in
    let properties: [String: Any?] = ["page_chapter1": chapter, "items": i, "premium": true]
    keys &+= properties.count
}, between: {})
let stats = try await sdk.stats()
await sdk.closeAndWait()

let coreDir = try storage("core")
let core = try MesureCore(config: config(coreDir))
try core.waitStarted()
let coreTrackScreen = try await measure({ i in
    _ = core.trackScreen(name: "home", properties: ["page_chapter1": .text(value: chapter), "items": .integer(value: Int64(i)),
                                                    "premium": .flag(value: true)])
}, between: {})
try core.shutdown()

for dir in [wrapperDir, coreDir] {
    try? FileManager.default.removeItem(at: dir)
}

let ratio = { (s: [UInt64], q: Double) in String(format: "%.1f", Double(quantile(s, q)) / Double(max(1, quantile(ffiBool, q)))) }
print("{\"unit\":\"ns\",\"bursts\":\(bursts),\"calls_per_burst\":\(callsPerBurst),\"sink\":\(sink)"
    + ",\"track_screen\":\(summary(trackScreen))"
    + ",\"track_screen_no_properties\":\(summary(trackScreenBare))"
    + ",\"ffi_bool\":\(summary(ffiBool))"
    + ",\"dictionary_literal_only\":\(summary(literalOnly))"
    + ",\"core_track_screen\":\(summary(coreTrackScreen))"
    + ",\"ratio_to_ffi_bool\":{\"p50\":\(ratio(trackScreen, 0.5)),\"p99\":\(ratio(trackScreen, 0.99)),\"p999\":\(ratio(trackScreen, 0.999))}"
    + ",\"ratio_no_properties_to_ffi_bool\":{\"p50\":\(ratio(trackScreenBare, 0.5)),\"p99\":\(ratio(trackScreenBare, 0.99)),\"p999\":\(ratio(trackScreenBare, 0.999))}"
    + ",\"tracks_accepted\":\(stats.accepted),\"dropped_by_a_full_queue\":\(drops.value),\"keys\":\(keys)}")
