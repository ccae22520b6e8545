import Foundation
import MesureBindings
#if canImport(os)
import os
#endif

/// The debug log (`Options.debugLog`): what was sent, held back or refused,
/// and each change of mode or purposes. The core writes each line (the same
/// on iOS, Android and the JVM: one line, the site first, codes and names,
/// never a property value, an app-scoped visitor id shortened to four
/// characters); this type only chooses the sink: the unified log on Apple
/// platforms (subsystem `eu.mesure`, category `Mesure`, every line marked
/// `.private`, so it is redacted unless a debugger or a logging profile is
/// attached), stderr elsewhere. Off by default, and off in a release build
/// unless `Options.debugLogInReleaseBuild` forces it.
struct DebugLog: Sendable {
    let enabled: Bool
    /// The site, for the wrapper's own lines.
    let site: Int64
    /// Where lines go instead of the system log (tests).
    let sink: (@Sendable (String) -> Void)?

    #if canImport(os)
    private static let logger = Logger(subsystem: "eu.mesure", category: "Mesure")
    #endif

    /// The log the options ask for: in a release build, only if forced by name.
    init(options: MesureSDK.Options, site: Int64) {
        let refused = options.debugLog && options.releaseBuild && !options.debugLogInReleaseBuild
        enabled = options.debugLog && !refused
        self.site = site
        sink = options.logSink
        if refused {
            Self.emit("[mesure \(site)] the debug log is off in a release build: it would show what the app tracks (Options.debugLogInReleaseBuild forces it)", sink: sink)
        }
    }

    /// A line the core wrote.
    func line(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        Self.emit(text(), sink: sink)
    }

    /// A line of the wrapper's own (names of operations only, never a value).
    func write(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        Self.emit("[mesure \(site)] \(text())", sink: sink)
    }

    /// A line of the wrapper's own, even with the debug log off (said once per SDK).
    func always(_ text: String) {
        Self.emit("[mesure \(site)] \(text)", sink: sink)
    }

    private static func emit(_ text: String, sink: (@Sendable (String) -> Void)?) {
        if let sink {
            sink(text)
            return
        }
        #if canImport(os)
        logger.debug("\(text, privacy: .private)")
        #else
        FileHandle.standardError.write(Data("Mesure: \(text)\n".utf8))
        #endif
    }
}
