import Foundation
import MesureBindings

/// What a Mesure operation can fail with. `errorDescription` (so
/// `localizedDescription`) and `description` are the SDK's sentence, the
/// same text on every platform, e.g. "invalid configuration: site_id: 0 is
/// out of range"; the associated values carry the details for code that
/// branches on them.
public enum MesureError: LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// A configuration field failed validation (thrown by `start`).
    case invalidConfig(field: String, reason: String)
    /// A refused event or a value that cannot be sent: thrown by strict
    /// calls only (`sdk.strict`); otherwise reported to the diagnostics.
    case trackRefused(reason: String, message: String)
    /// A mode name no configured mode has.
    case unknownMode(name: String)
    /// A purpose the configuration does not list.
    case unknownPurpose(name: String)
    /// Storage failed (the directory could not be prepared, the database
    /// could not be opened or written).
    case storage(detail: String)
    /// The SDK was closed: start a new one.
    case shutDown
    /// The SDK did not start; its state says why.
    case notStarted
    /// The SDK's background thread did not answer in time.
    case timeout
    /// Another Mesure instance uses this storage directory (one per site).
    case storageInUse(dir: String)
    /// The storage directory holds another site's store: one directory per site.
    case storageOfAnotherSite(dir: String, site: String)
    /// A background thread could not be started.
    case thread(detail: String)
    /// The built-in HTTP client could not be started.
    case httpClient(detail: String)
    /// An operation that waits on the SDK's own threads was called from one of them.
    case calledFromSdkThread(operation: String)
    /// An error of a newer core this wrapper does not classify (the two ship
    /// together, so this is not expected).
    case `internal`(detail: String)

    /// The sentence, from the Rust core (one text for Kotlin, Swift and Rust).
    public var errorDescription: String? { description }

    public var description: String { ffi.description }

    init(_ error: MesureBindings.MesureError) {
        switch error {
        case let .InvalidConfig(field, reason): self = .invalidConfig(field: field, reason: reason)
        case let .TrackRefused(reason, message): self = .trackRefused(reason: reason, message: message)
        case let .UnknownMode(name): self = .unknownMode(name: name)
        case let .UnknownPurpose(name): self = .unknownPurpose(name: name)
        case let .Storage(detail): self = .storage(detail: detail)
        case .ShutDown: self = .shutDown
        case .NotStarted: self = .notStarted
        case .Timeout: self = .timeout
        case let .StorageInUse(dir): self = .storageInUse(dir: dir)
        case let .StorageOfAnotherSite(dir, site): self = .storageOfAnotherSite(dir: dir, site: site)
        case let .Thread(detail): self = .thread(detail: detail)
        case let .HttpClient(detail): self = .httpClient(detail: detail)
        case let .CalledFromSdkThread(operation): self = .calledFromSdkThread(operation: operation)
        case let .Internal(detail): self = .internal(detail: detail)
        }
    }

    /// Any error met on the way, as a MesureError (a file-system error
    /// preparing the storage directory is a storage error).
    init(any error: Error) {
        switch error {
        case let e as MesureError: self = e
        case let e as MesureBindings.MesureError: self.init(e)
        default: self = .storage(detail: error.localizedDescription)
        }
    }

    /// The generated error, whose `description` calls the core's `Display`.
    private var ffi: MesureBindings.MesureError {
        switch self {
        case let .invalidConfig(field, reason): return .InvalidConfig(field: field, reason: reason)
        case let .trackRefused(reason, message): return .TrackRefused(reason: reason, explanation: message)
        case let .unknownMode(name): return .UnknownMode(name: name)
        case let .unknownPurpose(name): return .UnknownPurpose(name: name)
        case let .storage(detail): return .Storage(detail: detail)
        case .shutDown: return .ShutDown
        case .notStarted: return .NotStarted
        case .timeout: return .Timeout
        case let .storageInUse(dir): return .StorageInUse(dir: dir)
        case let .storageOfAnotherSite(dir, site): return .StorageOfAnotherSite(dir: dir, site: site)
        case let .thread(detail): return .Thread(detail: detail)
        case let .httpClient(detail): return .HttpClient(detail: detail)
        case let .calledFromSdkThread(operation): return .CalledFromSdkThread(operation: operation)
        case let .internal(detail): return .Internal(detail: detail)
        }
    }
}
