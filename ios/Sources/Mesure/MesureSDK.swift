import Foundation
import MesureBindings

/// The app's entry point to Mesure.
///
///     let sdk = try MesureSDK.start(collectEndpoint: "https://collect.example.com", siteId: 615000)
///     sdk.trackScreen("home", ["page_chapter1": chapter])
///
/// Every call returns at once: it is handed, in call order, to the SDK's
/// serial queue, which applies it to the Rust core (where every privacy
/// rule lives). Tracking never throws and never blocks; what becomes of an
/// event reaches `Options.onDiagnostic` and the debug log. Mode setters
/// never block either; their errors reach `Options.onError`. The
/// operations that answer something (`flush`, `stats`, ...) are `async`.
/// One instance per site id; thread-safe.
public final class MesureSDK: @unchecked Sendable {
    /// The SDK version (`event_collection_version` on the wire).
    public static var version: String { sdkVersion() }

    /// What the wrapper provides for building the configuration.
    public struct Platform: Sendable {
        /// The site id given to `start`.
        public let siteId: Int64
        /// This site's directory: `Options.storageDirectory`, or
        /// `Application Support/mesure/<siteId>` (created on start, 0700,
        /// out of backups, encrypted until first unlock).
        public let storageDir: String
        /// OS, version, model, app version (and, when started on the main
        /// thread, device type and screen size).
        public let context: DeviceContext
    }

    /// Settings of the wrapper itself (the SDK's own are in `MesureConfig`).
    public struct Options: Sendable {
        /// Where this site's database lives; nil: `Application Support/mesure/<siteId>`.
        public var storageDirectory: URL?
        /// Uploads; nil uses the Rust client, which only desktop builds carry
        /// (a dry run needs none).
        public var httpClient: PlatformHttpClient?
        /// Every diagnostic (what was held back, refused, sent...), on the
        /// SDK's listener thread: keep it short.
        public var onDiagnostic: (@Sendable (Diagnostic) -> Void)?
        /// Errors of calls that return before they are applied (mode setters,
        /// `setContext`) and of the start, on the SDK's queue.
        public var onError: (@Sendable (MesureError) -> Void)?
        /// Prints what is sent, dropped, refused and each mode change (see
        /// `DebugLog`); for debug builds: in a release build it stays off
        /// unless `debugLogInReleaseBuild` forces it.
        public var debugLog: Bool
        /// Forces the debug log in a release build too. A release build's
        /// log can be read by whoever holds the device: leave it off in what
        /// you ship.
        public var debugLogInReleaseBuild: Bool = false
        /// Whether this is a release build (the package compiled without
        /// `DEBUG`); tests set it.
        public var releaseBuild: Bool = {
            #if DEBUG
            return false
            #else
            return true
            #endif
        }()
        /// Debug builds and tests: each `track*` and setter waits for its turn,
        /// and a refusal stops the debugger (`assertionFailure`, with the
        /// sentence). For code that catches instead, use `sdk.strict`.
        public var strict: Bool
        /// Pending calls kept while the core is busy or starting; past it the
        /// oldest pending tracks are dropped and reported (`Diagnostic.backpressure`).
        public var maxPendingCalls: Int

        /// The core's own bound on hits in flight (`MAX_IN_FLIGHT`, core/src/state.rs):
        /// past it the core refuses tracks too, so a deeper queue here would only hold memory.
        public static let defaultMaxPendingCalls = 8192

        // Test hooks.
        /// Runs on the SDK's queue before the core is built.
        var beforeCoreStart: (@Sendable () -> Void)?
        /// Receives the debug log instead of the system log.
        var logSink: (@Sendable (String) -> Void)?
        /// What strict mode does with a refusal.
        var strictFailure: (@Sendable (MesureError) -> Void)?

        public init(storageDirectory: URL? = nil,
                    httpClient: PlatformHttpClient? = URLSessionHttpClient(),
                    onDiagnostic: (@Sendable (Diagnostic) -> Void)? = nil,
                    onError: (@Sendable (MesureError) -> Void)? = nil,
                    debugLog: Bool = false,
                    strict: Bool = false,
                    maxPendingCalls: Int = Options.defaultMaxPendingCalls) {
            self.storageDirectory = storageDirectory
            self.httpClient = httpClient
            self.onDiagnostic = onDiagnostic
            self.onError = onError
            self.debugLog = debugLog
            self.strict = strict
            self.maxPendingCalls = maxPendingCalls
        }
    }

    private let options: Options
    private let log: DebugLog
    private let store: StateStore
    private let shutdownDone = ShutdownSignal()
    private let dispatcher: Dispatcher

    // Owned by the queue: read and written only by jobs.
    private var core: MesureCore?
    private var startFailure: MesureError?

    // The background flush's observer (Apple platforms, apps only).
    var backgroundFlush: AnyObject?

    /// Starts with the defaults of the Rust core (exempt mode by default).
    /// - Throws: `MesureError.invalidConfig` naming the field at fault.
    public static func start(collectEndpoint: String, siteId: Int64, options: Options = Options()) throws -> MesureSDK {
        try start(siteId: siteId, options: options) { platform in
            MesureConfig(collectEndpoint: collectEndpoint, siteId: platform.siteId, storageDir: platform.storageDir,
                         context: platform.context)
        }
    }

    /// Starts with a configuration of the app's own, built from what the
    /// platform provides:
    ///
    ///     try MesureSDK.start(siteId: 615000) { platform in
    ///         MesureConfig(collectEndpoint: "https://collect.example.com", siteId: platform.siteId,
    ///                      storageDir: platform.storageDir,
    ///                      exemptAllowlist: [AllowedProperty(property: "ab_variant", justification: "...")],
    ///                      context: platform.context)
    ///     }
    ///
    /// Checks the configuration here, on the caller's thread (no file, no
    /// thread), then returns at once: the store is opened on the SDK's
    /// queue, and calls made meanwhile wait in line. A failure there
    /// (`storageInUse`, `storage`) is published in `state.error`, logged and
    /// passed to `onError`; every later call then does nothing.
    /// - Throws: `MesureError.invalidConfig` naming the field at fault
    ///   (`site_id`, `collect_endpoint`, `exempt_allowlist[0].property`...).
    public static func start(siteId: Int64, options: Options = Options(),
                             configuration: (Platform) throws -> MesureConfig) throws -> MesureSDK {
        let directory = options.storageDirectory ?? PlatformContext.defaultStorageDirectory(siteId: siteId)
        let base = PlatformContext.base()
        #if canImport(UIKit) && !os(watchOS)
        let onMain = Thread.isMainThread
        let context = onMain ? MainActor.assumeIsolated { PlatformContext.withScreen(base) } : base
        #else
        let context = base
        #endif
        let config = try configuration(Platform(siteId: siteId, storageDir: directory.path, context: context))
        guard config.siteId == siteId else {
            throw MesureError.invalidConfig(field: "site_id",
                                            reason: "\(config.siteId) is not the site id given to start (\(siteId))")
        }
        do {
            try validateConfig(config: config)
        } catch {
            throw MesureError(any: error)
        }
        let sdk = MesureSDK(config: config, options: options)
        let isDefaultDirectory = options.storageDirectory == nil && config.storageDir == directory.path
        sdk.dispatcher.submit(.other { sdk.open(config, legacyMigration: isDefaultDirectory) })
        #if canImport(UIKit) && !os(watchOS)
        if !onMain {
            // Started off the main thread: device type and screen size follow.
            let appContext = config.context ?? base
            DispatchQueue.main.async {
                let full = MainActor.assumeIsolated { PlatformContext.withScreen(appContext) }
                sdk.setContext(full)
            }
        }
        #endif
        return sdk
    }

    private init(config: MesureConfig, options: Options) {
        self.options = options
        log = DebugLog(options: options, site: config.siteId)
        store = StateStore(.starting(config.defaultMode))
        dispatcher = Dispatcher(label: "eu.mesure.dispatch.\(config.siteId)", capacity: options.maxPendingCalls)
        // Weak: pending tracks do not keep an instance the app let go of
        // (its core then persists what it had and stops).
        dispatcher.attach(
            runTrack: { [weak self] in self?.apply($0) },
            onDropped: { [weak self] in self?.dropped($0) }
        )
    }

    // MARK: State

    /// Where things stand now.
    public var state: MesureState { store.current }

    /// The current state, then each change (applied by this SDK, or made by
    /// the core itself: a lapsed consent, a deletion of local data), until
    /// the SDK is closed. A slow reader gets the latest state only.
    public func stateUpdates() -> AsyncStream<MesureState> { store.updates() }

    /// `state.mode == .optOut`.
    public var isOptedOut: Bool { state.isOptedOut }

    func observeState(_ handler: @escaping @Sendable (MesureState) -> Void) -> Observation {
        store.observe(handler)
    }

    // MARK: Tracking

    /// Tracks an event named `name` (`a-z`, `0-9`, `_`, `.`; starting with a
    /// letter; 80 characters at most). Returns at once; never throws.
    /// Properties: see `PropertyConvertible` (nil values are left out, values
    /// of other types dropped and reported).
    public func track(_ name: String, _ properties: [String: Any?] = [:]) {
        submit(.event, name, properties, "track")
    }

    /// A screen view: `page.display` with `page = name`. An empty or blank name is refused.
    public func trackScreen(_ name: String, _ properties: [String: Any?] = [:]) {
        submit(.screen, name, properties, "trackScreen")
    }

    /// A click: `click.action|navigation|download|exit` with `click = name`.
    /// An empty or blank name is refused.
    public func trackClick(_ kind: ClickKind, _ name: String, _ properties: [String: Any?] = [:]) {
        submit(.click(kind), name, properties, "trackClick")
    }

    private func submit(_ kind: Dispatcher.Track.Kind, _ name: String, _ properties: [String: Any?], _ operation: String) {
        let track = Dispatcher.Track(kind: kind, name: name, properties: Properties(properties))
        if options.strict {
            strictly(operation) { _ = try self.strictTrack(track) }
        } else if !dispatcher.submit(.track(track)) {
            log.write("\(operation) ignored: the SDK is closed")
        }
    }

    /// On the queue.
    @discardableResult
    private func apply(_ track: Dispatcher.Track) -> TrackOutcome? {
        guard let core else {
            log.write("\(track.kind.operation) not tracked: \(startFailure ?? .shutDown)")
            return nil
        }
        switch track.kind {
        case .event: return core.track(name: track.name, properties: track.properties.map)
        case .screen: return core.trackScreen(name: track.name, properties: track.properties.map)
        case let .click(kind): return core.trackClick(kind: kind, name: track.name, properties: track.properties.map)
        }
    }

    /// On the queue: tracks the dispatcher dropped.
    private func dropped(_ count: Int64) {
        let diagnostic = Diagnostic.backpressure(dropped: count)
        log.write("\(count) track call(s) dropped: the SDK's queue was full")
        options.onDiagnostic?(diagnostic)
    }

    // MARK: Mode setters

    /// For an opt-out switch. On: nothing more is sent (unless the
    /// controller enabled anonymous opt-out counters). Off: back to the
    /// default mode, and nothing changes in any other mode (a consent given
    /// is not withdrawn by the switch). Applied in call order; errors go to `onError`.
    public func setOptedOut(_ optedOut: Bool) {
        set("setOptedOut") { try $0.setOptedOut(optedOut: optedOut) }
    }

    /// The answer to a consent prompt (including the one due when
    /// `state.consentRenewalNeeded`). Granted opts in; declined withdraws an
    /// opt-in, leaves an opt-out in force and settles a pending renewal.
    public func setConsent(_ granted: Bool) {
        set("setConsent") { try $0.setConsent(granted: granted) }
    }

    /// Any mode: `.optIn` once the visitor consented, a custom mode...
    /// An unknown one reaches `onError` as `unknownMode`.
    public func setMode(_ mode: VisitorMode) {
        set("setMode") { try $0.setMode(mode: mode) }
    }

    /// A consent-management platform's answers, purpose by purpose (purposes
    /// not named keep theirs). Audience measurement's answer decides the
    /// visitor mode. An unlisted purpose reaches `onError` as `unknownPurpose`.
    public func setPurposes(_ answers: [String: PurposeMode]) {
        set("setPurposes") { try $0.setPurposes(answers: answers) }
    }

    /// The answer for one purpose.
    public func setPurpose(_ purpose: String, _ mode: PurposeMode) {
        set("setPurpose") { try $0.setPurpose(purpose: purpose, mode: mode) }
    }

    /// Replaces the device context (the connection type changed...).
    public func setContext(_ context: DeviceContext) {
        set("setContext") { try $0.setContext(context: context) }
    }

    private func set(_ operation: String, _ change: @escaping (MesureCore) throws -> Void) {
        if options.strict {
            strictly(operation) { try self.strictSet(operation, change) }
        } else {
            enqueueSet(operation, change, completion: nil)
        }
    }

    /// Enqueues a mode change; `completion` runs on the queue once it was applied (nil: no error).
    func enqueueSet(_ operation: String, _ change: @escaping (MesureCore) throws -> Void,
                    completion: ((MesureError?) -> Void)?) {
        let accepted = dispatcher.submit(.other { [self] in
            let error = applySet(operation, change)
            completion?(error)
        })
        if !accepted {
            // Reported on the queue as the others are, after what is already in line.
            dispatcher.queue.async { [self] in
                report(.shutDown, operation)
                completion?(.shutDown)
            }
        }
    }

    /// On the queue: applies a change, publishes the state, reports an error.
    private func applySet(_ operation: String, _ change: (MesureCore) throws -> Void) -> MesureError? {
        guard let core else {
            let error = startFailure ?? .shutDown
            report(error, operation)
            return error
        }
        do {
            try change(core)
            store.apply(.status(core.modeStatus()))
            return nil
        } catch {
            let e = MesureError(any: error)
            report(e, operation)
            return e
        }
    }

    private func report(_ error: MesureError, _ operation: String) {
        log.write("\(operation) failed: \(error)")
        options.onError?(error)
    }

    // MARK: Strict calls

    /// The same calls, waiting for their turn and throwing instead of
    /// reporting: for tests and debug builds.
    ///
    ///     XCTAssertThrowsError(try sdk.strict.track("Bad Name"))   // MesureError.trackRefused
    public var strict: Strict { Strict(sdk: self) }

    /// See `MesureSDK.strict`.
    public struct Strict: Sendable {
        let sdk: MesureSDK

        /// Waits until the event is handed to the core. Throws `trackRefused`
        /// (a refused event, or a value of a type that cannot be sent),
        /// `shutDown`, or the start's failure.
        @discardableResult
        public func track(_ name: String, _ properties: [String: Any?] = [:]) throws -> TrackOutcome {
            try sdk.strictTrack(.init(kind: .event, name: name, properties: Properties(properties)))
        }

        @discardableResult
        public func trackScreen(_ name: String, _ properties: [String: Any?] = [:]) throws -> TrackOutcome {
            try sdk.strictTrack(.init(kind: .screen, name: name, properties: Properties(properties)))
        }

        @discardableResult
        public func trackClick(_ kind: ClickKind, _ name: String, _ properties: [String: Any?] = [:]) throws -> TrackOutcome {
            try sdk.strictTrack(.init(kind: .click(kind), name: name, properties: Properties(properties)))
        }

        public func setOptedOut(_ optedOut: Bool) throws {
            try sdk.strictSet("setOptedOut") { try $0.setOptedOut(optedOut: optedOut) }
        }

        public func setConsent(_ granted: Bool) throws {
            try sdk.strictSet("setConsent") { try $0.setConsent(granted: granted) }
        }

        public func setMode(_ mode: VisitorMode) throws {
            try sdk.strictSet("setMode") { try $0.setMode(mode: mode) }
        }

        public func setPurposes(_ answers: [String: PurposeMode]) throws {
            try sdk.strictSet("setPurposes") { try $0.setPurposes(answers: answers) }
        }

        public func setPurpose(_ purpose: String, _ mode: PurposeMode) throws {
            try sdk.strictSet("setPurpose") { try $0.setPurpose(purpose: purpose, mode: mode) }
        }

        public func setContext(_ context: DeviceContext) throws {
            try sdk.strictSet("setContext") { try $0.setContext(context: context) }
        }
    }

    private func strictly(_ operation: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            let e = MesureError(any: error)
            if let strictFailure = options.strictFailure {
                strictFailure(e)
            } else {
                assertionFailure("Mesure (strict mode): \(operation): \(e)")
            }
        }
    }

    fileprivate func strictTrack(_ track: Dispatcher.Track) throws -> TrackOutcome {
        if let (key, typeName) = track.properties.firstUnsupported {
            throw MesureError.trackRefused(
                reason: "unsupported_value",
                message: "property \"\(key)\": a value of type \(typeName) cannot be sent: "
                    + "use text, a number, a boolean, a date or a list of one of those")
        }
        let outcome: TrackOutcome = try wait { [self] in
            guard core != nil else { throw startFailure ?? .shutDown }
            return apply(track) ?? .refused(reason: "shut_down", message: MesureError.shutDown.description)
        }
        if case let .refused(reason, message) = outcome {
            throw MesureError.trackRefused(reason: reason, message: message)
        }
        return outcome
    }

    fileprivate func strictSet(_ operation: String, _ change: @escaping (MesureCore) throws -> Void) throws {
        try wait { [self] in
            guard let core else { throw startFailure ?? .shutDown }
            do {
                try change(core)
            } catch {
                throw MesureError(any: error)
            }
            store.apply(.status(core.modeStatus()))
        }
    }

    /// Runs `body` on the queue in its turn and waits for it. From the
    /// queue itself (an `onError` callback), runs it at once.
    private func wait<T>(_ body: @escaping () throws -> T) throws -> T {
        if dispatcher.isCurrent {
            return try body()
        }
        let result = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let accepted = dispatcher.submit(.other {
            result.value = Result(catching: body)
            done.signal()
        })
        guard accepted else { throw MesureError.shutDown }
        done.wait()
        guard let value = result.value else { throw MesureError.shutDown }
        return try value.get()
    }

    // MARK: Waiting operations

    /// Persists and uploads now; returns when the attempt ends (up to the
    /// request timeout). Covers every event tracked before the call.
    /// - Throws: `shutDown` after `close()`, `storage`, the start's failure.
    public func flush() async throws -> FlushReport {
        try await onCore(offQueue: true) { try $0.flush() }
    }

    /// Everything stored on the device for this site, as a JSON document
    /// (right of access).
    public func exportLocalData() async throws -> String {
        try await onCore(offQueue: true) { try $0.exportLocalData() }
    }

    /// Deletes the visitor id, the queued hits and the history of choices
    /// (right to erasure); an opt-out in force stays. Applied in call order:
    /// events tracked before are deleted, events tracked after are kept.
    /// Returns the number of hits deleted.
    public func deleteLocalData() async throws -> Int64 {
        try await onCore { [store] core in
            let deleted = try core.deleteLocalData()
            store.apply(.status(core.modeStatus()))
            return deleted
        }
    }

    /// Counters since the SDK started.
    public func stats() async throws -> Stats {
        try await onCore { $0.stats() }
    }

    /// The compliance report of the live configuration, as Markdown, for
    /// your data-protection officer.
    public func complianceReportMarkdown() async throws -> String {
        try await onCore { $0.complianceReportMarkdown() }
    }

    /// The compliance report of the live configuration, as JSON.
    public func complianceReportJson() async throws -> String {
        try await onCore { $0.complianceReportJson() }
    }

    /// Returns once every call made before it has been applied (tracks
    /// handed to the core, mode changes persisted and published).
    /// - Throws: `shutDown` after `close()`, the start's failure.
    public func awaitApplied() async throws {
        try await onCore { _ in () }
    }

    /// Runs `body` with the core in its turn on the queue. `offQueue`: for
    /// the operations that wait on I/O (an upload), the queue only takes
    /// its turn, and the work runs elsewhere so later calls are not held up.
    private func onCore<T: Sendable>(offQueue: Bool = false,
                                     _ body: @escaping @Sendable (MesureCore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let accepted = dispatcher.submit(.other { [self] in
                guard let core else {
                    continuation.resume(throwing: startFailure ?? MesureError.shutDown)
                    return
                }
                if offQueue {
                    DispatchQueue.global(qos: .utility).async {
                        continuation.resume(with: Result { try body(core) }.mapError { MesureError(any: $0) })
                    }
                } else {
                    continuation.resume(with: Result { try body(core) }.mapError { MesureError(any: $0) })
                }
            })
            if !accepted {
                continuation.resume(throwing: MesureError.shutDown)
            }
        }
    }

    // MARK: Start and close

    /// On the queue: prepares the directory and builds the core.
    private func open(_ config: MesureConfig, legacyMigration: Bool) {
        do {
            let directory = URL(fileURLWithPath: config.storageDir, isDirectory: true)
            // The core moves an earlier version's store, and only into its own site.
            let config = legacyMigration ? config.with(legacyStorageDir: directory.deletingLastPathComponent().path) : config
            try PlatformContext.prepare(directory)
            options.beforeCoreStart?()
            let listener = Listener(store: store, log: log, onDiagnostic: options.onDiagnostic)
            let core = try MesureCore(config: config, listener: listener, httpClient: options.httpClient)
            do {
                try core.waitStarted()
            } catch {
                core.stop()
                throw error
            }
            self.core = core
            store.apply(.status(core.modeStatus()))
        } catch {
            let e = MesureError(any: error)
            startFailure = e
            store.apply(.failed(e))
            report(e, "start")
        }
    }

    /// Persists what was accepted and stops, after every call made before
    /// it. Returns at once; idempotent. Afterwards `track*` and the setters
    /// do nothing (logged; setters report `shutDown` to `onError`), the
    /// waiting operations throw `MesureError.shutDown`, and `stateUpdates()`
    /// streams end. Start a new instance to measure again.
    public func close() {
        let first = dispatcher.close { [self] in
            if let core {
                do {
                    try core.shutdown()
                } catch {
                    report(MesureError(any: error), "close")
                }
            }
            core = nil
            store.apply(.closed)
            store.finish()
            shutdownDone.signal()
        }
        if !first {
            log.write("close() ignored: already closed")
        }
    }

    /// `close()`, then waits until the SDK has persisted and stopped (a
    /// later instance may then open the same directory).
    public func shutdown() async {
        close()
        await shutdownDone.wait()
    }
}

/// Forwards the core's reports. Runs on the core's listener thread.
private final class Listener: MesureListener, @unchecked Sendable {
    private let store: StateStore
    private let log: DebugLog
    private let onDiagnostic: (@Sendable (Diagnostic) -> Void)?

    init(store: StateStore, log: DebugLog, onDiagnostic: (@Sendable (Diagnostic) -> Void)?) {
        self.store = store
        self.log = log
        self.onDiagnostic = onDiagnostic
    }

    func onModeChanged(change: ModeChange, logLine: String) throws {
        log.line(logLine)
        store.apply(.change(change))
    }

    func onState(state: SdkState, logLine: String) throws {}

    func onDiagnostic(diagnostic: Diagnostic, logLine: String) throws {
        log.line(logLine)
        onDiagnostic?(diagnostic)
    }
}

/// A result handed from the queue to a waiting caller.
private final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, Error>?
}

/// Set once the SDK has stopped; wakes every `shutdown()` waiting.
private final class ShutdownSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func signal() {
        lock.lock()
        done = true
        let woken = waiters
        waiters = []
        lock.unlock()
        woken.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if done {
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }
}

extension MesureConfig {
    /// This configuration, with `legacyStorageDir` set (the generated
    /// record's fields are constants).
    func with(legacyStorageDir: String?) -> MesureConfig {
        MesureConfig(collectEndpoint: collectEndpoint, siteId: siteId, storageDir: storageDir, defaultMode: defaultMode,
                     exemptAllowlist: exemptAllowlist, forbiddenProperties: forbiddenProperties, forbiddenEvents: forbiddenEvents,
                     anonymousEvents: anonymousEvents, customModes: customModes, purposes: purposes,
                     sendHitsInOptOut: sendHitsInOptOut, consentLifetimeMonths: consentLifetimeMonths, queueMaxHits: queueMaxHits,
                     queueMaxAgeDays: queueMaxAgeDays, batchSize: batchSize, flushIntervalMs: flushIntervalMs,
                     requestTimeoutMs: requestTimeoutMs, retryBaseMs: retryBaseMs, retryMaxMs: retryMaxMs, context: context,
                     dryRun: dryRun, legacyStorageDir: legacyStorageDir)
    }
}
