// The generated types (MesureConfig, VisitorMode, PropertyValue, MesureError...)
// are the public API too: one `import Mesure` brings them.
@_exported import MesureBindings
import Foundation

/// The app's entry point to Mesure: builds the configuration from the
/// platform, plugs URLSession in, and keeps a publisher of the visitor mode.
/// Every privacy rule (what each mode sends, consent lifetime, visitor id)
/// lives in the Rust core; nothing here decides one.
///
///     let sdk = try MesureSDK.start(collectEndpoint: "https://collect.example.com", siteId: 42)
///     try sdk.trackScreen("home")
public final class MesureSDK: @unchecked Sendable {
    /// The whole API: flush, exportLocalData, deleteLocalData, compliance reports, stats.
    public let mesure: MesureCore
    /// The mode in force, for settings screens.
    public let modes: ModePublisher
    #if canImport(UIKit) && !os(watchOS)
    private let backgroundFlush: BackgroundFlush
    #endif

    /// What the wrapper fills in for the configuration.
    public struct Platform: Sendable {
        /// Application Support/mesure unless another directory was given; created, excluded from backups.
        public let storageDir: String
        /// OS, version, model, app version (and, on the main thread, device type and screen).
        public let context: DeviceContext
    }

    /// Starts with the defaults of the Rust core (exempt mode by default).
    public static func start(
        collectEndpoint: String,
        siteId: Int64,
        storageDirectory: URL? = nil,
        httpClient: PlatformHttpClient? = URLSessionHttpClient(),
        onDiagnostic: (@Sendable (Diagnostic) -> Void)? = nil
    ) throws -> MesureSDK {
        try start(storageDirectory: storageDirectory, httpClient: httpClient, onDiagnostic: onDiagnostic) { platform in
            MesureConfig(collectEndpoint: collectEndpoint, siteId: siteId, storageDir: platform.storageDir, context: platform.context)
        }
    }

    /// Starts with a configuration of the app's own (allowlist, custom
    /// modes...), built from what the platform provides:
    ///
    ///     try MesureSDK.start { platform in
    ///         MesureConfig(collectEndpoint: "https://collect.example.com", siteId: 42,
    ///                      storageDir: platform.storageDir,
    ///                      exemptAllowlist: [AllowedProperty(property: "ab_variant", justification: "...")],
    ///                      context: platform.context)
    ///     }
    ///
    /// - Parameters:
    ///   - httpClient: nil uses the Rust client, which only desktop builds carry.
    ///   - onDiagnostic: called on the SDK's thread: keep it short.
    /// - Throws: `MesureError.InvalidConfig` naming the field at fault, `MesureError.Storage`.
    public static func start(
        storageDirectory: URL? = nil,
        httpClient: PlatformHttpClient? = URLSessionHttpClient(),
        onDiagnostic: (@Sendable (Diagnostic) -> Void)? = nil,
        configuration: (Platform) throws -> MesureConfig
    ) throws -> MesureSDK {
        let directory: URL
        do {
            directory = try storageDirectory ?? PlatformContext.defaultStorageDirectory()
            try PlatformContext.prepare(directory)
        } catch {
            throw MesureError.Storage(detail: "cannot prepare the storage directory: \(error.localizedDescription)")
        }
        let base = PlatformContext.base()
        #if canImport(UIKit) && !os(watchOS)
        let onMain = Thread.isMainThread
        let context = onMain ? MainActor.assumeIsolated { PlatformContext.withScreen(base) } : base
        #else
        let context = base
        #endif
        let config = try configuration(Platform(storageDir: directory.path, context: context))

        // Until the core answers below.
        let modes = ModePublisher(ModeState(mode: config.defaultMode ?? .exempt, consentRenewalNeeded: false, epoch: 0))
        let listener = Listener(modes: modes, onDiagnostic: onDiagnostic)
        let mesure = try MesureCore(config: config, listener: listener, httpClient: httpClient)
        // The stored choice (opt-out, a lapsed opt-in...) wins over the default.
        modes.publish(ModeState(mesure.modeStatus()))
        let sdk = MesureSDK(mesure: mesure, modes: modes)

        #if canImport(UIKit) && !os(watchOS)
        if !onMain {
            // Started off the main thread: device type and screen size follow.
            let appContext = config.context ?? base
            DispatchQueue.main.async {
                let full = MainActor.assumeIsolated { PlatformContext.withScreen(appContext) }
                // Fails only once shut down, when no hit needs it any more.
                try? mesure.setContext(context: full)
            }
        }
        #endif
        return sdk
    }

    private init(mesure: MesureCore, modes: ModePublisher) {
        self.mesure = mesure
        self.modes = modes
        #if canImport(UIKit) && !os(watchOS)
        backgroundFlush = BackgroundFlush(mesure: mesure)
        #endif
    }

    @discardableResult
    public func track(_ name: String, _ properties: [String: PropertyValue] = [:]) -> TrackOutcome {
        mesure.track(name: name, properties: properties)
    }

    @discardableResult
    public func trackScreen(_ name: String, _ properties: [String: PropertyValue] = [:]) -> TrackOutcome {
        mesure.trackScreen(name: name, properties: properties)
    }

    @discardableResult
    public func trackClick(_ kind: ClickKind, _ name: String, _ properties: [String: PropertyValue] = [:]) -> TrackOutcome {
        mesure.trackClick(kind: kind, name: name, properties: properties)
    }

    public var isOptedOut: Bool { mesure.mode() == .optOut }

    /// For an opt-out switch in settings. Opting out sends nothing more
    /// (unless the controller enabled anonymous opt-out counters); turning
    /// it off returns to the default mode. Turning it off when not opted out
    /// changes nothing, so a consent given (opt-in) is not silently dropped.
    /// Decided by the core, as on Android.
    public func setOptedOut(_ optedOut: Bool) throws {
        try publish { try $0.setOptedOut(optedOut: optedOut) }
    }

    /// For a consent prompt (including the one shown when `consentRenewalNeeded`).
    /// Granting opts in. Declining withdraws a consent given, leaves an
    /// opt-out in force, and otherwise records the answer in the current
    /// mode, which also settles a pending renewal.
    public func setConsent(_ granted: Bool) throws {
        try publish { try $0.setConsent(granted: granted) }
    }

    /// A consent-management platform's answers, purpose by purpose (purposes
    /// not named keep theirs). Audience measurement's answer decides the
    /// visitor mode; a purpose never answered never reads as opt-in.
    /// - Throws: `MesureError.UnknownPurpose`, `MesureError.ShutDown`.
    public func setPurposes(_ answers: [String: PurposeMode]) throws {
        try publish { try $0.setPurposes(answers: answers) }
    }

    /// The answer for one purpose.
    public func setPurpose(_ purpose: String, _ mode: PurposeMode) throws {
        try publish { try $0.setPurpose(purpose: purpose, mode: mode) }
    }

    /// Every configured purpose's mode, `audience_measurement` included.
    public var purposes: [String: PurposeMode] { mesure.purposes() }

    /// Any mode: `.optIn` once the visitor consented, a custom mode...
    /// - Throws: `MesureError.UnknownMode`, `MesureError.ShutDown`.
    public func setMode(_ mode: VisitorMode) throws {
        try publish { try $0.setMode(mode: mode) }
    }

    /// Runs a mode change, then publishes its result now rather than when the
    /// listener reports it: code reading `modes.current` right after the call
    /// must see the new mode.
    private func publish(_ change: (MesureCore) throws -> Void) throws {
        try change(mesure)
        modes.publish(ModeState(mesure.modeStatus()))
    }

    /// Persists what was accepted, stops, and ends the `modes.updates()` sequences.
    public func shutdown() throws {
        defer { modes.finish() }
        try mesure.shutdown()
    }
}

/// Forwards the SDK's reports. Runs on the SDK's listener thread.
private final class Listener: MesureListener {
    private let modes: ModePublisher
    private let onDiagnostic: (@Sendable (Diagnostic) -> Void)?

    init(modes: ModePublisher, onDiagnostic: (@Sendable (Diagnostic) -> Void)?) {
        self.modes = modes
        self.onDiagnostic = onDiagnostic
    }

    func onModeChanged(change: ModeChange) throws {
        modes.publish(ModeState(change))
    }

    func onDiagnostic(diagnostic: Diagnostic) throws {
        onDiagnostic?(diagnostic)
    }
}
