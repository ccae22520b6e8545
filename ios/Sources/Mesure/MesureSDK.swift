import Foundation
import MesureBindings

/// The app's entry point to Mesure.
///
///     let sdk = try MesureSDK.start(collectEndpoint: "https://collect.example.com", siteId: 615000)
///     sdk.trackScreen("home", ["page_chapter1": chapter])
///
/// A thin layer over the Rust core, where every privacy rule and the call
/// queue live: each call goes straight to the core on the caller's thread.
/// The core keeps call order, also across the start (calls made while it
/// opens its store wait in order in the core), and returns without waiting
/// for disk or network. Tracking never throws; what becomes of an event
/// reaches `Options.onDiagnostic` and the debug log. Setter errors reach
/// `Options.onError`. The operations that answer something (`flush`,
/// `stats`, ...) are `async`. One instance per site id; thread-safe.
public final class MesureSDK: @unchecked Sendable {
    /// The SDK version (`event_collection_version` on the wire).
    public static var version: String { sdkVersion() }

    /// What the wrapper provides for building the configuration.
    public struct Platform: Sendable {
        /// The site id given to `start`.
        public let siteId: Int64
        /// This site's directory: `Options.storageDirectory`, or
        /// `Application Support/mesure/<siteId>` (0700, out of backups,
        /// encrypted until first unlock).
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
        /// Errors of the setters (`setMode`, `setContext`...) that the core
        /// answered at once, on the caller's thread. A setter made before the
        /// start is applied when the store is open; the core reports its
        /// failure to the diagnostics and the debug log only.
        public var onError: (@Sendable (MesureError) -> Void)?
        /// Prints the core's line for what is sent, dropped, refused and each
        /// change of mode or state (see `DebugLog`); for debug builds: in a
        /// release build it stays off unless `debugLogInReleaseBuild` forces it.
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
        /// Debug builds and tests: sets the core's `MesureConfig.strict`
        /// (calls made before the start wait for it, so each answers with its
        /// own outcome), and a refusal stops the debugger (`assertionFailure`,
        /// with the sentence). For code that catches instead, use `sdk.strict`.
        public var strict: Bool

        // Test hooks.
        /// The core's clock.
        var clock: MesureClock?
        /// Receives the debug log instead of the system log.
        var logSink: (@Sendable (String) -> Void)?
        /// What strict mode does with a refusal.
        var strictFailure: (@Sendable (MesureError) -> Void)?

        public init(storageDirectory: URL? = nil,
                    httpClient: PlatformHttpClient? = URLSessionHttpClient(),
                    onDiagnostic: (@Sendable (Diagnostic) -> Void)? = nil,
                    onError: (@Sendable (MesureError) -> Void)? = nil,
                    debugLog: Bool = false,
                    strict: Bool = false) {
            self.storageDirectory = storageDirectory
            self.httpClient = httpClient
            self.onDiagnostic = onDiagnostic
            self.onError = onError
            self.debugLog = debugLog
            self.strict = strict
        }
    }

    let core: MesureCore
    /// The core's key for `trackEncoded`, the one-call tracking path.
    private let callKey: UInt64
    private let options: Options
    private let log: DebugLog
    private let store: StateStore
    /// Whether a call after close was logged once outside the debug log.
    private let closedNotice = NSLock()
    private var closedNoticeGiven = false

    // The background flush's observer (Apple platforms, apps only).
    var backgroundFlush: AnyObject?

    /// Starts with the defaults of the Rust core (exempt mode by default).
    /// - Throws: `MesureError.InvalidConfig` naming the field at fault,
    ///   `MesureError.StorageInUse` if an instance already uses the directory.
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
    /// Builds the core on the caller's thread, which checks the
    /// configuration and claims the storage directory, then returns at once:
    /// the core opens its store on its own thread, and calls made meanwhile
    /// wait in order in the core. A failure there (`StorageOfAnotherSite`,
    /// `Storage`) is published in `state.error` and thrown by the waiting calls.
    /// - Throws: `MesureError.InvalidConfig` naming the field at fault
    ///   (`site_id`, `collect_endpoint`, `exempt_allowlist[0].property`...);
    ///   `MesureError.StorageInUse` when another instance holds the directory.
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
        let appConfig = try configuration(Platform(siteId: siteId, storageDir: directory.path, context: context))
        guard appConfig.siteId == siteId else {
            throw MesureError.InvalidConfig(field: "site_id",
                                            reason: "\(appConfig.siteId) is not the site id given to start (\(siteId))")
        }
        // The core moves an earlier version's store (`Application Support/mesure`), only into its default directory.
        let legacy = options.storageDirectory == nil && appConfig.storageDir == directory.path
            ? directory.deletingLastPathComponent().path : appConfig.legacyStorageDir
        let config = appConfig.with(strict: appConfig.strict || options.strict, legacyStorageDir: legacy)
        try validateConfig(config: config)
        let log = DebugLog(options: options, site: config.siteId)
        // Protection class and backup exclusion, which the core cannot set; the core reports a directory it cannot create.
        do {
            try PlatformContext.prepare(URL(fileURLWithPath: config.storageDir, isDirectory: true))
        } catch {
            log.write("could not prepare the storage directory: \(error.localizedDescription)")
        }
        let store = StateStore(MesureState(mode: config.defaultMode ?? .exempt, epoch: 0, run: .starting))
        let listener = Listener(store: store, log: log, onDiagnostic: options.onDiagnostic)
        let core = try MesureCore(config: config, listener: listener, httpClient: options.httpClient, clock: options.clock)
        let sdk = MesureSDK(core: core, options: options, log: log, store: store)
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

    private init(core: MesureCore, options: Options, log: DebugLog, store: StateStore) {
        self.core = core
        self.callKey = core.callKey()
        self.options = options
        self.log = log
        self.store = store
    }

    deinit {
        // An instance the app let go of persists what it had and stops.
        core.stop()
    }

    // MARK: State

    /// Where things stand now, as the core last published it.
    public var state: MesureState { store.current }

    /// The current state, then each one the core publishes (the start's
    /// end, each change of mode or purposes, made by the app or by the
    /// core itself, the close), until the SDK is closed or its start
    /// failed. A slow reader gets the latest state only.
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
        send("track", EncodedCall.track, name, properties)
    }

    /// A screen view: `page.display` with `page = name`. An empty or blank name is refused.
    public func trackScreen(_ name: String, _ properties: [String: Any?] = [:]) {
        send("trackScreen", EncodedCall.screen, name, properties)
    }

    /// A click: `click.action|navigation|download|exit` with `click = name`.
    /// An empty or blank name is refused.
    public func trackClick(_ kind: ClickKind, _ name: String, _ properties: [String: Any?] = [:]) {
        send("trackClick", EncodedCall.click(kind), name, properties)
    }

    /// Converts the properties (the table of `PropertyConvertible`), writes
    /// them with the call into one buffer and hands it to the core in one
    /// FFI call. A refusal was already reported by the core (diagnostic and
    /// log line); its details are taken from the core only for strict mode
    /// and for a call after close.
    private func send(_ operation: String, _ kind: UInt8, _ name: String, _ properties: [String: Any?]) {
        var call = EncodedCall(kind: kind, name: name)
        if options.strict {
            let map = Properties.map(properties)
            if let error = Self.unsupportedRefusal(map) { return failStrictly(operation, error) }
            for (key, value) in map { call.property(key, value) }
        } else {
            for (key, value) in properties {
                if let value = Properties.value(value) { call.property(key, value) }
            }
        }
        let answer = trackEncoded(instance: callKey, call: call.finish())
        if answer >= 0 { return }
        let error: MesureError
        if answer == EncodedCall.gone {
            error = .ShutDown
        } else if case let .refused(reason, message)? = core.takeRefusal(ticket: -answer) {
            error = Self.refusalError(reason: reason, message: message)
        } else {
            return
        }
        if options.strict { return failStrictly(operation, error) }
        if error == .ShutDown { ignoredAfterClose(operation) }
    }

    /// Strict mode's refusal of a value of a type the SDK cannot send,
    /// naming the first such key in key order; nil when there is none.
    static func unsupportedRefusal(_ map: [String: PropertyValue]) -> MesureError? {
        guard let (key, typeName) = Properties.firstUnsupported(map) else { return nil }
        return .TrackRefused(
            reason: "unsupported_value",
            explanation: "property \"\(key)\": a value of type \(typeName) cannot be sent: "
                + "use text, a number, a boolean, a date or a list of one of those")
    }

    /// The error a refused outcome stands for.
    static func refusalError(reason: String, message: String) -> MesureError {
        reason == "shut_down" ? .ShutDown : .TrackRefused(reason: reason, explanation: message)
    }

    /// The calls as the core answers them, without waiting for the start.
    private var direct: Strict { Strict(sdk: self, waits: false) }

    // MARK: Mode setters

    /// For an opt-out switch. On: nothing more is sent (unless the
    /// controller enabled anonymous opt-out counters). Off: back to the
    /// default mode, and nothing changes in any other mode (a consent given
    /// is not withdrawn by the switch). Applied in call order; errors go to `onError`.
    public func setOptedOut(_ optedOut: Bool) {
        set("setOptedOut") { try $0.setOptedOut(optedOut) }
    }

    /// The answer to a consent prompt (including the one due when
    /// `state.consentRenewalNeeded`). Granted opts in; declined withdraws an
    /// opt-in, leaves an opt-out in force and settles a pending renewal.
    ///
    /// `prompt`: the prompt it was answered in, as the app names it
    /// (`ConsentContext(promptId: "main_banner", promptVersion: "2026-12", locale: "fr-FR")`):
    /// its id, version and locale go into the consent receipt
    /// (`consentProof()`), its id and version into the anonymous consent
    /// statistics. A prompt named with anything but letters, digits and
    /// `. _ : / -` (an e-mail address, a phone number) is refused and
    /// nothing is recorded: `InvalidConfig` naming `prompt.prompt_id`,
    /// `prompt.prompt_version` or `prompt.locale` reaches `onError`.
    public func setConsent(_ granted: Bool, prompt: ConsentContext? = nil) {
        set("setConsent") { try $0.setConsent(granted, prompt: prompt) }
    }

    /// Any mode: `.optIn` once the visitor consented, a custom mode...
    /// An unknown one reaches `onError` as `UnknownMode`. `prompt`: the
    /// consent prompt the visitor answered, as for `setConsent`.
    public func setMode(_ mode: VisitorMode, prompt: ConsentContext? = nil) {
        set("setMode") { try $0.setMode(mode, prompt: prompt) }
    }

    /// A consent-management platform's answers, purpose by purpose (purposes
    /// not named keep theirs). Audience measurement's answer decides the
    /// visitor mode. An unlisted purpose reaches `onError` as `UnknownPurpose`.
    /// `prompt`: the consent prompt the answers were given in, as for `setConsent`.
    public func setPurposes(_ answers: [String: PurposeMode], prompt: ConsentContext? = nil) {
        set("setPurposes") { try $0.setPurposes(answers, prompt: prompt) }
    }

    /// The consent prompt `prompt` was shown to the visitor: counted by the
    /// anonymous consent statistics (per prompt version and day, no id of
    /// any kind), unless they are off. A badly named prompt is refused as in
    /// `setConsent`.
    public func consentPromptShown(_ prompt: ConsentContext) {
        set("consentPromptShown") { try $0.consentPromptShown(prompt) }
    }

    /// The visitor's own switch of the consent statistics (for a settings
    /// screen): off deletes the counts not sent and counts nothing more on
    /// this device, across restarts; on counts again, unless the
    /// configuration has them off (`ConsentSettings.statistics`). Consent
    /// receipts are not affected.
    public func setConsentStatistics(_ enabled: Bool) {
        set("setConsentStatistics") { try $0.setConsentStatistics(enabled) }
    }

    /// The answer for one purpose.
    public func setPurpose(_ purpose: String, _ mode: PurposeMode) {
        set("setPurpose") { try $0.setPurpose(purpose, mode) }
    }

    /// Replaces the device context (the connection type changed...).
    public func setContext(_ context: DeviceContext) {
        set("setContext") { try $0.setContext(context) }
    }

    /// Calls a setter; returns its error, after handing it to `onError` (strict mode: to `failStrictly`).
    @discardableResult
    func set(_ operation: String, _ change: (Strict) throws -> Void) -> MesureError? {
        do {
            try change(direct)
            return nil
        } catch {
            let e = MesureError(any: error)
            if options.strict { failStrictly(operation, e); return e }
            if e == .ShutDown { ignoredAfterClose(operation) }
            options.onError?(e)
            return e
        }
    }

    /// A call after close: said once outside the debug log, then only in it.
    private func ignoredAfterClose(_ operation: String) {
        closedNotice.lock()
        let first = !closedNoticeGiven
        closedNoticeGiven = true
        closedNotice.unlock()
        if first { log.always("\(operation) ignored after close (then in the debug log only)") }
        log.write("\(operation) ignored after close")
    }

    private func failStrictly(_ operation: String, _ error: Error) {
        let e = MesureError(any: error)
        if let strictFailure = options.strictFailure {
            strictFailure(e)
        } else {
            assertionFailure("Mesure (strict mode): \(operation): \(e)")
        }
    }

    // MARK: Strict calls

    /// The same calls, throwing what the core answers instead of reporting
    /// it: for tests and debug builds. Before the start's end, each waits for
    /// it, so that it answers with its own outcome.
    ///
    ///     XCTAssertThrowsError(try sdk.strict.track("Bad Name"))   // MesureError.TrackRefused
    public var strict: Strict { Strict(sdk: self, waits: true) }

    /// See `MesureSDK.strict`.
    public struct Strict: Sendable {
        let sdk: MesureSDK
        /// Waits for the start first (false: the plain calls, which the core queues).
        let waits: Bool

        private var core: MesureCore {
            get throws {
                if waits { try sdk.core.waitStarted() }
                return sdk.core
            }
        }

        /// Hands the event to the core. Throws `TrackRefused` (a refused
        /// event, a value of a type that cannot be sent), `ShutDown` after
        /// close, or the start's failure.
        @discardableResult
        public func track(_ name: String, _ properties: [String: Any?] = [:]) throws -> TrackOutcome {
            try refusing(properties) { try core.track(name: name, properties: $0) }
        }

        @discardableResult
        public func trackScreen(_ name: String, _ properties: [String: Any?] = [:]) throws -> TrackOutcome {
            try refusing(properties) { try core.trackScreen(name: name, properties: $0) }
        }

        @discardableResult
        public func trackClick(_ kind: ClickKind, _ name: String, _ properties: [String: Any?] = [:]) throws -> TrackOutcome {
            try refusing(properties) { try core.trackClick(kind: kind, name: name, properties: $0) }
        }

        public func setOptedOut(_ optedOut: Bool) throws { try core.setOptedOut(optedOut: optedOut) }

        /// Throws `InvalidConfig` for a badly named `prompt` (see `MesureSDK.setConsent`).
        public func setConsent(_ granted: Bool, prompt: ConsentContext? = nil) throws {
            try core.setConsent(granted: granted, prompt: prompt)
        }

        public func setMode(_ mode: VisitorMode, prompt: ConsentContext? = nil) throws { try core.setMode(mode: mode, prompt: prompt) }

        public func setPurposes(_ answers: [String: PurposeMode], prompt: ConsentContext? = nil) throws {
            try core.setPurposes(answers: answers, prompt: prompt)
        }

        public func consentPromptShown(_ prompt: ConsentContext) throws { try core.consentPromptShown(prompt: prompt) }

        public func setConsentStatistics(_ enabled: Bool) throws { try core.setConsentStatistics(enabled: enabled) }

        public func setPurpose(_ purpose: String, _ mode: PurposeMode) throws { try core.setPurpose(purpose: purpose, mode: mode) }

        public func setContext(_ context: DeviceContext) throws { try core.setContext(context: context) }

        /// Throws a refusal (and, in strict mode, a value of a type that cannot be sent, which the core only reports).
        private func refusing(_ properties: [String: Any?],
                              _ track: ([String: PropertyValue]) throws -> TrackOutcome) throws -> TrackOutcome {
            let map = Properties.map(properties)
            if waits || sdk.options.strict, let error = MesureSDK.unsupportedRefusal(map) { throw error }
            let outcome = try track(map)
            if case let .refused(reason, message) = outcome { throw MesureSDK.refusalError(reason: reason, message: message) }
            return outcome
        }
    }

    // MARK: Waiting operations

    /// Persists and uploads now; returns when the attempt ends (up to the
    /// request timeout). Covers every event tracked before the call.
    /// - Throws: `ShutDown` after `close()`, `Storage`, the start's failure.
    public func flush() async throws -> FlushReport {
        try await Task.detached { [core] in try core.flush() }.value
    }

    /// Everything stored on the device for this site, as a JSON document
    /// (right of access).
    public func exportLocalData() async throws -> String {
        try await Task.detached { [core] in try core.exportLocalData() }.value
    }

    /// The proof of every consent the visitor gave or withdrew on this
    /// device (JSON a controller can file): the consent-proof id, whether the
    /// receipts' hash chain is intact, and the receipts, oldest first.
    public func consentProof() async throws -> String {
        try await Task.detached { [core] in try core.consentProof() }.value
    }

    /// Deletes the visitor id, the queued hits and the history of choices
    /// (right to erasure). A consent goes with the record that proves it:
    /// opt-in (or a custom mode) returns to the configured default mode and
    /// every purpose's answer is forgotten; an opt-out (or no-consent,
    /// no-storage) in force stays. Applied in call order:
    /// events tracked before are deleted, events tracked after are kept.
    /// Returns the number of hits deleted.
    public func deleteLocalData() async throws -> Int64 {
        try await Task.detached { [core] in try core.deleteLocalData() }.value
    }

    /// Counters since the SDK started.
    public func stats() async throws -> Stats {
        try await Task.detached { [core] in try core.awaitApplied(); return core.stats() }.value
    }

    /// The compliance report of the live configuration, as Markdown, for
    /// your data-protection officer.
    public func complianceReportMarkdown() async throws -> String {
        try await Task.detached { [core] in try core.awaitApplied(); return core.complianceReportMarkdown() }.value
    }

    /// The compliance report of the live configuration, as JSON.
    public func complianceReportJson() async throws -> String {
        try await Task.detached { [core] in try core.awaitApplied(); return core.complianceReportJson() }.value
    }

    /// Returns once every call made before it has been applied and
    /// persisted, and the state it published is `state`.
    /// - Throws: `ShutDown` after `close()`, the start's failure.
    public func awaitApplied() async throws {
        try await Task.detached { [core] in try core.awaitApplied() }.value
    }

    // MARK: Close

    /// Stops after every call made before it, and returns at once;
    /// idempotent. Afterwards `track*` and the setters do nothing (logged
    /// once, then in the debug log; setters report `ShutDown` to `onError`),
    /// the waiting operations throw `MesureError.ShutDown`, `state.run`
    /// becomes `.closed` and `stateUpdates()` streams end. Start a new
    /// instance to measure again.
    public func close() {
        core.stop()
    }

    /// `close()`, then waits until the SDK has persisted and stopped (a
    /// later instance may then open the same directory).
    public func closeAndWait() async {
        do {
            try await Task.detached { [core] in try core.shutdown() }.value
        } catch {
            log.write("closeAndWait: \(MesureError(any: error))")
        }
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
    }

    func onState(state: SdkState, logLine: String) throws {
        log.line(logLine)
        store.publish(MesureState(state))
    }

    func onDiagnostic(diagnostic: Diagnostic, logLine: String) throws {
        log.line(logLine)
        onDiagnostic?(diagnostic)
    }
}

extension MesureConfig {
    /// This configuration with the wrapper's settings (the generated record's fields are constants).
    func with(strict: Bool, legacyStorageDir: String?) -> MesureConfig {
        MesureConfig(collectEndpoint: collectEndpoint, siteId: siteId, storageDir: storageDir, defaultMode: defaultMode,
                     exemptAllowlist: exemptAllowlist, forbiddenProperties: forbiddenProperties, forbiddenEvents: forbiddenEvents,
                     anonymousEvents: anonymousEvents, customModes: customModes, purposes: purposes,
                     sendHitsInOptOut: sendHitsInOptOut, consentLifetimeMonths: consentLifetimeMonths, queueMaxHits: queueMaxHits,
                     queueMaxAgeDays: queueMaxAgeDays, batchSize: batchSize, flushIntervalMs: flushIntervalMs,
                     requestTimeoutMs: requestTimeoutMs, retryBaseMs: retryBaseMs, retryMaxMs: retryMaxMs, context: context,
                     dryRun: dryRun, strict: strict, legacyStorageDir: legacyStorageDir, collector: collector,
                     consent: consent)
    }
}
