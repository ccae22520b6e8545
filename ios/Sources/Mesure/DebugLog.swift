import Foundation
import MesureBindings
#if canImport(os)
import os
#endif

/// The debug log (`Options.debugLog`): what was sent (the visitor id, then
/// each hit's event and property keys, never the values), what was held
/// back or refused, each mode change, and the wrapper's own problems. To
/// the unified log on Apple platforms (subsystem `eu.mesure`, category
/// `Mesure`: Xcode's console, Console.app), to stderr elsewhere. Off by
/// default: leave it off in release builds.
struct DebugLog: Sendable {
    let enabled: Bool
    /// Where lines go instead of the system log (tests).
    let sink: (@Sendable (String) -> Void)?

    #if canImport(os)
    private static let logger = Logger(subsystem: "eu.mesure", category: "Mesure")
    #endif

    func write(_ line: @autoclosure () -> String) {
        guard enabled else { return }
        let text = line()
        if let sink {
            sink(text)
            return
        }
        #if canImport(os)
        Self.logger.debug("\(text, privacy: .public)")
        #else
        FileHandle.standardError.write(Data("Mesure: \(text)\n".utf8))
        #endif
    }

    func diagnostic(_ d: Diagnostic) {
        guard enabled else { return }
        write(Self.describe(d))
    }

    func modeChanged(_ c: ModeChange) {
        write("mode \(c.previous) -> \(c.current) (\(c.reason))\(c.consentRenewalNeeded ? ", consent renewal needed" : "")")
    }

    static func describe(_ d: Diagnostic) -> String {
        switch d {
        case let .sent(idclient, hits, status, dryRun):
            let how = dryRun ? "dry run, nothing left the device" : status.map { "HTTP \($0)" } ?? "no answer"
            let lines = hits.map { "  \($0.event): \($0.keys.joined(separator: ", "))" }
            return (["sent \(hits.count) hit(s) for idclient \(idclient) (\(how))"] + lines).joined(separator: "\n")
        case let .dropped(mode, event, property, reason, explanation):
            let what = property.map { "property \($0) of \(event)" } ?? "event \(event)"
            return "dropped \(what) in \(mode): \(explanation) (\(reason))"
        case let .trackRefused(event, reason, message):
            return "refused \(event): \(message) (\(reason))"
        case let .backpressure(dropped):
            return "\(dropped) track call(s) dropped: the SDK's queue was full"
        case let .queueTrimmed(cause, dropped):
            return "\(dropped) queued hit(s) removed by the \(cause) bound"
        case let .hitsRejected(status, count):
            return "the collector refused \(count) hit(s) (HTTP \(status)): dropped"
        case let .uploadDeferred(hits, cause, retryInMs):
            return "upload of \(hits) hit(s) deferred (\(cause)); next attempt in \(retryInMs) ms"
        case let .storageError(message):
            return "storage error: \(message)"
        case let .storageRecovered(reason):
            return "the database was recreated: \(reason)"
        case let .diagnosticsDropped(dropped):
            return "\(dropped) diagnostic(s) dropped: the listener was too slow"
        case let .other(description):
            return description
        }
    }
}
